//! Amounts in words, Indian system (thousand, lakh, crore), rupees and paise:
//! `12,34,56,789.05` → "Twelve Crore Thirty Four Lakh Fifty Six Thousand Seven Hundred
//! Eighty Nine Rupees and Five Paise Only".

use rust_decimal::Decimal;

use crate::model::money::round_paise;

const ONES: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const TENS: [&str; 10] = [
    "", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety",
];

/// 1..=99
fn two_digits(n: u64, out: &mut Vec<&'static str>) {
    if n < 20 {
        out.push(ONES[n as usize]);
    } else {
        out.push(TENS[(n / 10) as usize]);
        if !n.is_multiple_of(10) {
            out.push(ONES[(n % 10) as usize]);
        }
    }
}

/// 1..=999
fn three_digits(n: u64, out: &mut Vec<&'static str>) {
    if n >= 100 {
        out.push(ONES[(n / 100) as usize]);
        out.push("Hundred");
    }
    if !n.is_multiple_of(100) {
        two_digits(n % 100, out);
    }
}

/// A whole number in words, Indian grouping; crores nest ("One Hundred Crore").
fn integer(n: u64, out: &mut Vec<&'static str>) {
    let crore = n / 10_000_000;
    let rest = n % 10_000_000;
    if crore > 0 {
        integer(crore, out);
        out.push("Crore");
    }
    let (lakh, thousand, hundreds) = (rest / 100_000, rest / 1_000 % 100, rest % 1_000);
    if lakh > 0 {
        two_digits(lakh, out);
        out.push("Lakh");
    }
    if thousand > 0 {
        two_digits(thousand, out);
        out.push("Thousand");
    }
    if hundreds > 0 {
        three_digits(hundreds, out);
    }
}

/// `amount` (rounded half-up to the paisa) in words, ending in "Only".
pub fn amount_in_words(amount: Decimal) -> String {
    let r = round_paise(amount.abs());
    let paise_total = (r * Decimal::from(100)).trunc();
    let paise_total: u64 = paise_total.try_into().expect("invoice amounts fit in u64 paise");
    let (rupees, paise) = (paise_total / 100, paise_total % 100);
    let mut w: Vec<&'static str> = Vec::new();
    if amount.is_sign_negative() && !r.is_zero() {
        w.push("Minus");
    }
    if rupees == 0 {
        w.push("Zero");
    } else {
        integer(rupees, &mut w);
    }
    w.push(if rupees == 1 { "Rupee" } else { "Rupees" });
    if paise > 0 {
        w.push("and");
        two_digits(paise, &mut w);
        w.push(if paise == 1 { "Paisa" } else { "Paise" });
    }
    w.push("Only");
    w.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn the_acceptance_amounts() {
        assert_eq!(amount_in_words(dec!(0)), "Zero Rupees Only");
        assert_eq!(amount_in_words(dec!(1)), "One Rupee Only");
        assert_eq!(
            amount_in_words(dec!(99.99)),
            "Ninety Nine Rupees and Ninety Nine Paise Only"
        );
        assert_eq!(amount_in_words(dec!(100000)), "One Lakh Rupees Only");
        assert_eq!(
            amount_in_words(dec!(123456789.05)),
            "Twelve Crore Thirty Four Lakh Fifty Six Thousand Seven Hundred Eighty Nine Rupees and Five Paise Only"
        );
    }

    #[test]
    fn more_shapes() {
        assert_eq!(
            amount_in_words(dec!(123456.78)),
            "One Lakh Twenty Three Thousand Four Hundred Fifty Six Rupees and Seventy Eight Paise Only"
        );
        assert_eq!(amount_in_words(dec!(0.01)), "Zero Rupees and One Paisa Only");
        assert_eq!(
            amount_in_words(dec!(0.005)),
            "Zero Rupees and One Paisa Only",
            "rounded half-up first"
        );
        assert_eq!(amount_in_words(dec!(1000000000)), "One Hundred Crore Rupees Only");
        assert_eq!(amount_in_words(dec!(10101)), "Ten Thousand One Hundred One Rupees Only");
        assert_eq!(amount_in_words(dec!(-5.5)), "Minus Five Rupees and Fifty Paise Only");
        assert_eq!(
            amount_in_words(dec!(1100000.10)),
            "Eleven Lakh Rupees and Ten Paise Only"
        );
    }
}
