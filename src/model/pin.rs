//! PIN code → GST state: a fallback for addresses that carry a PIN but no state.
//!
//! India Post numbers PINs by zone: the first digit is a zone, the first two a postal circle and
//! the first three a sorting district. [`PREFIXES`] maps 3-digit sorting-district prefixes to the
//! GST state/UT code of the place they serve. The table was written by hand from India Post's PIN
//! zones (first digits → circle → state) and cross-checked, prefix by prefix, against the state
//! column of India Post's All India Pincode Directory (data.gov.in).
//!
//! **Ambiguous prefixes refuse rather than guess.** A wrong state turns CGST+SGST into IGST (or
//! the reverse), so a prefix is listed only when every PIN under it lies in one state/UT:
//!
//! * prefixes shared by a state and a UT enclave or by states split along postal divisions are in
//!   [`SHARED_PREFIXES`] (Chandigarh/Punjab 160, Uttarakhand/UP 244/246/247/262, Diu 362,
//!   Daman/Dadra 396, Telangana/AP 507, Yanam 533, Puducherry/Karaikal 605/607/609, Mahe 673,
//!   Lakshadweep 682, Bihar/Jharkhand 813/814);
//! * a few otherwise single-state prefixes have isolated border PINs served across the line
//!   (Meghalaya villages on Assam PINs, a Ganga diara village of Ballia on a Buxar PIN); those
//!   whole PINs are in [`SHARED_PINS`];
//! * unassigned prefixes and Army Post Office PINs (9xxxxx) are simply absent.
//!
//! All of these come back as [`PinState::Ambiguous`]: the caller must ask for the state.

use crate::model::gstin::{State, state_by_code};

/// What a PIN code says about the GST state it lies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinState {
    /// Not six digits (after trimming and one optional internal space), or starts with 0.
    NotAPin,
    /// A well-formed PIN whose state cannot be told from the PIN alone.
    Ambiguous,
    /// Every PIN under this one's prefix lies in this state/UT.
    Known(&'static State),
}

/// Inclusive ranges of 3-digit prefixes whose PINs all lie in one GST state/UT: (first, last, GST
/// state code). Sorted, non-overlapping; gaps are unassigned, shared or APO prefixes.
pub const PREFIXES: &[(u16, u16, u8)] = &[
    // 1: Delhi, Haryana, Punjab, Himachal Pradesh, Jammu & Kashmir, Ladakh.
    (110, 110, 7),  // Delhi
    (121, 127, 6),  // Haryana: Faridabad, Gurugram, Rewari, Rohtak, Hisar, Jind, Bhiwani
    (131, 136, 6),  // Haryana: Sonipat, Karnal, Panipat, Ambala, Panchkula, Yamunanagar, Kurukshetra
    (140, 148, 3),  // Punjab: Rupnagar/SAS Nagar, Ludhiana, Amritsar, Jalandhar, Pathankot, Patiala
    (151, 152, 3),  // Punjab: Bathinda, Firozpur, Faridkot
    (171, 177, 2),  // Himachal Pradesh
    (180, 182, 1),  // Jammu & Kashmir: Jammu, Udhampur, Doda
    (184, 185, 1),  // Jammu & Kashmir: Kathua, Rajouri, Poonch
    (190, 193, 1),  // Jammu & Kashmir: Srinagar, Anantnag, Baramulla
    (194, 194, 38), // Ladakh: Leh, Kargil
    // 2: Uttar Pradesh, Uttarakhand.
    (201, 212, 9), // Uttar Pradesh: Ghaziabad/Noida … Kanpur, Prayagraj
    (221, 233, 9), // Uttar Pradesh: Varanasi … Lucknow … Ghazipur
    (241, 243, 9), // Uttar Pradesh: Hardoi, Shahjahanpur, Bareilly
    (245, 245, 9), // Uttar Pradesh: Hapur
    (248, 249, 5), // Uttarakhand: Dehradun, Haridwar, Rishikesh, Tehri
    (250, 251, 9), // Uttar Pradesh: Meerut, Muzaffarnagar
    (261, 261, 9), // Uttar Pradesh: Sitapur, Lakhimpur
    (263, 263, 5), // Uttarakhand: Nainital, Almora, Haldwani, Rudrapur
    (271, 277, 9), // Uttar Pradesh: Gonda … Gorakhpur … Ballia
    (281, 285, 9), // Uttar Pradesh: Mathura, Agra, Jhansi, Orai
    // 3: Rajasthan, Gujarat, Dadra & Nagar Haveli and Daman & Diu.
    (301, 307, 8),  // Rajasthan: Alwar, Jaipur, Ajmer, Pali, Sirohi
    (311, 314, 8),  // Rajasthan: Bhilwara, Chittorgarh, Udaipur, Dungarpur
    (321, 328, 8),  // Rajasthan: Bharatpur, Kota, Banswara, Dholpur
    (331, 335, 8),  // Rajasthan: Churu, Sikar, Jhunjhunu, Bikaner, Sri Ganganagar
    (341, 345, 8),  // Rajasthan: Nagaur, Jodhpur, Jalore, Barmer, Jaisalmer
    (360, 361, 24), // Gujarat: Rajkot, Jamnagar
    (363, 365, 24), // Gujarat: Surendranagar, Bhavnagar, Amreli
    (370, 370, 24), // Gujarat: Kutch
    (380, 380, 24), // Gujarat: Ahmedabad
    (382, 385, 24), // Gujarat: Gandhinagar, Sabarkantha, Mehsana, Banaskantha
    (387, 395, 24), // Gujarat: Kheda, Anand, Godhra, Vadodara, Bharuch, Surat
    // 4: Maharashtra, Goa, Madhya Pradesh, Chhattisgarh.
    (400, 402, 27), // Maharashtra: Mumbai, Thane/Palghar, Raigad
    (403, 403, 30), // Goa (all of Goa, and nothing else)
    (410, 416, 27), // Maharashtra: Pune, Solapur, Satara, Kolhapur
    (421, 425, 27), // Maharashtra: Kalyan, Nashik, Dhule, Jalgaon
    (431, 431, 27), // Maharashtra: Chhatrapati Sambhajinagar, Nanded
    (440, 445, 27), // Maharashtra: Nagpur, Wardha, Akola, Amravati, Yavatmal
    (450, 458, 23), // Madhya Pradesh: Khandwa, Indore, Ujjain, Ratlam, Mandsaur
    (460, 466, 23), // Madhya Pradesh: Betul, Bhopal, Vidisha, Sehore
    (470, 477, 23), // Madhya Pradesh: Sagar, Guna, Gwalior, Morena, Bhind
    (480, 488, 23), // Madhya Pradesh: Chhindwara, Jabalpur, Shahdol, Satna, Rewa, Panna
    (490, 497, 22), // Chhattisgarh
    // 5: Telangana, Andhra Pradesh, Karnataka.
    (500, 506, 36), // Telangana: Hyderabad … Warangal
    (508, 509, 36), // Telangana: Nalgonda, Mahabubnagar
    (515, 518, 37), // Andhra Pradesh: Anantapur, Kadapa, Chittoor, Kurnool
    (520, 524, 37), // Andhra Pradesh: Vijayawada, Guntur, Ongole, Nellore
    (530, 532, 37), // Andhra Pradesh: Visakhapatnam, Srikakulam
    (534, 535, 37), // Andhra Pradesh: Eluru, Vizianagaram
    (560, 563, 29), // Karnataka: Bengaluru, Kolar
    (570, 577, 29), // Karnataka: Mysuru, Tumakuru, Hassan, Mangaluru, Udupi, Shivamogga
    (580, 587, 29), // Karnataka: Hubballi-Dharwad … Kalaburagi, Vijayapura, Bagalkot
    (590, 591, 29), // Karnataka: Belagavi
    // 6: Tamil Nadu, Kerala, Puducherry, Lakshadweep.
    (600, 604, 33), // Tamil Nadu: Chennai, Tiruvallur, Chengalpattu, Tindivanam
    (606, 606, 33), // Tamil Nadu: Tiruvannamalai, Kallakurichi
    (608, 608, 33), // Tamil Nadu: Chidambaram
    (610, 614, 33), // Tamil Nadu: Tiruvarur, Nagapattinam, Kumbakonam, Thanjavur
    (620, 632, 33), // Tamil Nadu: Tiruchirappalli … Madurai … Vellore
    (635, 639, 33), // Tamil Nadu: Krishnagiri, Salem, Namakkal, Erode, Karur
    (641, 643, 33), // Tamil Nadu: Coimbatore, Tiruppur, Nilgiris
    (670, 671, 32), // Kerala: Kannur, Kasaragod
    (676, 676, 32), // Kerala: Malappuram
    (678, 680, 32), // Kerala: Palakkad, Thrissur
    (683, 683, 32), // Kerala: Aluva
    (685, 686, 32), // Kerala: Idukki, Kottayam
    (688, 691, 32), // Kerala: Alappuzha, Pathanamthitta, Kollam
    (695, 695, 32), // Kerala: Thiruvananthapuram
    // 7: West Bengal, Sikkim, Andaman & Nicobar, Odisha, the North East.
    (700, 700, 19), // West Bengal: Kolkata
    (711, 713, 19), // West Bengal: Howrah, Hooghly, Bardhaman
    (721, 723, 19), // West Bengal: Medinipur, Bankura, Purulia
    (731, 736, 19), // West Bengal: Birbhum … Darjeeling, Jalpaiguri, Cooch Behar
    (737, 737, 11), // Sikkim
    (741, 743, 19), // West Bengal: Nadia, Murshidabad, 24 Parganas
    (744, 744, 35), // Andaman & Nicobar Islands
    (751, 770, 21), // Odisha
    (781, 788, 18), // Assam (see SHARED_PINS for Ri-Bhoi villages)
    (790, 792, 12), // Arunachal Pradesh
    (793, 794, 17), // Meghalaya
    (795, 795, 14), // Manipur
    (796, 796, 15), // Mizoram
    (797, 798, 13), // Nagaland
    (799, 799, 16), // Tripura
    // 8: Bihar, Jharkhand.
    (800, 805, 10), // Bihar: Patna, Arrah, Nalanda, Gaya, Nawada
    (811, 812, 10), // Bihar: Munger, Jamui, Bhagalpur
    (815, 816, 20), // Jharkhand: Giridih, Deoghar, Sahebganj, Pakur
    (821, 821, 10), // Bihar: Rohtas, Kaimur
    (822, 822, 20), // Jharkhand: Palamu, Garhwa
    (823, 824, 10), // Bihar: Gaya, Aurangabad
    (825, 829, 20), // Jharkhand: Hazaribagh, Dhanbad, Bokaro, Ramgarh
    (831, 835, 20), // Jharkhand: Jamshedpur, Chaibasa, Ranchi
    (841, 848, 10), // Bihar: Saran, Muzaffarpur, Champaran, Darbhanga, Samastipur
    (851, 855, 10), // Bihar: Begusarai, Saharsa, Purnia, Kishanganj
];

/// Prefixes whose PINs lie in more than one state/UT. Never listed in [`PREFIXES`]; kept here so the
/// refusal is a decision on record rather than an omission.
pub const SHARED_PREFIXES: &[u16] = &[
    160, // Chandigarh; Mohali (Punjab) and Panchkula (Haryana) also use 160xxx
    244, // Moradabad, Rampur (UP) / Kashipur, Jaspur, Ramnagar (Uttarakhand)
    246, // Pauri, Chamoli (Uttarakhand) / Bijnor, Najibabad (UP)
    247, // Saharanpur (UP) / Roorkee (Uttarakhand)
    262, // Pilibhit, Lakhimpur Kheri (UP) / Pithoragarh, Champawat, Khatima (Uttarakhand)
    362, // Junagadh, Gir Somnath (Gujarat) / Diu (DNH and DD)
    396, // Valsad, Navsari (Gujarat) / Daman, Silvassa (DNH and DD)
    507, // Khammam (Telangana); the Polavaram mandals moved to Andhra Pradesh in 2014
    533, // East Godavari (Andhra Pradesh) / Yanam (Puducherry)
    605, // Villupuram, Cuddalore (Tamil Nadu) / Puducherry
    607, // Cuddalore (Tamil Nadu) / Bahour (Puducherry)
    609, // Mayiladuthurai, Nagapattinam (Tamil Nadu) / Karaikal (Puducherry)
    673, // Kozhikode (Kerala) / Mahe (Puducherry)
    682, // Ernakulam (Kerala) / Lakshadweep
    813, // Banka, Bhagalpur (Bihar) / Godda, Sahebganj (Jharkhand)
    814, // Dumka, Deoghar, Godda (Jharkhand) / Banka (Bihar)
];

/// Whole PINs inside a [`PREFIXES`] range that also serve places in another state/UT.
pub const SHARED_PINS: &[u32] = &[
    781029, // Guwahati (Assam) / Ri-Bhoi (Meghalaya) border villages
    781131, // Kamrup (Assam) / Ri-Bhoi (Meghalaya)
    782410, // Nagaon division (Assam) / Ri-Bhoi (Meghalaya)
    791701, // listed for Aizawl-district (Mizoram) branch offices
    802131, // Buxar (Bihar) / Ballia (UP) diara villages
];

/// The GST state/UT of an Indian PIN code, where the PIN alone settles it.
///
/// Surrounding whitespace and one internal space ("560 034") are accepted.
pub fn state_of_pin(pin: &str) -> PinState {
    let Some(pin) = parse(pin) else {
        return PinState::NotAPin;
    };
    if SHARED_PINS.contains(&pin) {
        return PinState::Ambiguous;
    }
    let prefix = (pin / 1000) as u16;
    let found = PREFIXES.iter().find(|&&(lo, hi, _)| (lo..=hi).contains(&prefix));
    match found.and_then(|&(_, _, code)| state_by_code(code)) {
        Some(state) => PinState::Known(state),
        None => PinState::Ambiguous,
    }
}

/// Six ASCII digits, first not 0, after trimming and dropping at most one internal space.
fn parse(s: &str) -> Option<u32> {
    let s = s.trim();
    let mut digits = 0u32;
    let mut n = 0u32;
    let mut spaces = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => {
                n = n * 10 + u32::from(b - b'0');
                digits += 1;
                if digits > 6 {
                    return None;
                }
            }
            // `s` is trimmed, so a space here is internal.
            b' ' if spaces == 0 => spaces += 1,
            _ => return None,
        }
    }
    (digits == 6 && n >= 100_000).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(pin: &str) -> Option<u8> {
        match state_of_pin(pin) {
            PinState::Known(s) => Some(s.code),
            _ => None,
        }
    }

    #[test]
    fn well_known_places() {
        for (pin, want, place) in [
            ("560034", 29, "Bengaluru, Koramangala"),
            ("400001", 27, "Mumbai GPO"),
            ("411001", 27, "Pune"),
            ("600001", 33, "Chennai"),
            ("641001", 33, "Coimbatore"),
            ("110001", 7, "New Delhi"),
            ("700001", 19, "Kolkata"),
            ("734001", 19, "Siliguri"),
            ("500001", 36, "Hyderabad"),
            ("520001", 37, "Vijayawada"),
            ("530001", 37, "Visakhapatnam"),
            ("380001", 24, "Ahmedabad"),
            ("395003", 24, "Surat"),
            ("302001", 8, "Jaipur"),
            ("226001", 9, "Lucknow"),
            ("201301", 9, "Noida"),
            ("248001", 5, "Dehradun"),
            ("263001", 5, "Nainital"),
            ("800001", 10, "Patna"),
            ("834001", 20, "Ranchi"),
            ("831001", 20, "Jamshedpur"),
            ("462001", 23, "Bhopal"),
            ("452001", 23, "Indore"),
            ("492001", 22, "Raipur"),
            ("695001", 32, "Thiruvananthapuram"),
            ("680001", 32, "Thrissur"),
            ("751001", 21, "Bhubaneswar"),
            ("781001", 18, "Guwahati"),
            ("793001", 17, "Shillong"),
            ("795001", 14, "Imphal"),
            ("796001", 15, "Aizawl"),
            ("797001", 13, "Kohima"),
            ("799001", 16, "Agartala"),
            ("791111", 12, "Itanagar"),
            ("171001", 2, "Shimla"),
            ("190001", 1, "Srinagar"),
            ("180001", 1, "Jammu"),
            ("194101", 38, "Leh"),
            ("141001", 3, "Ludhiana"),
            ("143001", 3, "Amritsar"),
            ("122001", 6, "Gurugram"),
            ("403001", 30, "Panaji"),
            ("737101", 11, "Gangtok"),
            ("744101", 35, "Port Blair"),
        ] {
            assert_eq!(code(pin), Some(want), "{pin} ({place})");
        }
    }

    #[test]
    fn shared_places_refuse() {
        for (pin, place) in [
            ("160017", "Chandigarh"),
            ("160062", "Mohali, Punjab"),
            ("605001", "Puducherry"),
            ("605602", "Villupuram, Tamil Nadu"),
            ("609602", "Karaikal"),
            ("607402", "Bahour, Puducherry"),
            ("533464", "Yanam"),
            ("673310", "Mahe"),
            ("673001", "Kozhikode, Kerala"),
            ("682555", "Kavaratti, Lakshadweep"),
            ("682001", "Kochi, Kerala"),
            ("396210", "Daman"),
            ("396230", "Silvassa"),
            ("396001", "Valsad, Gujarat"),
            ("362520", "Diu"),
            ("247667", "Roorkee, Uttarakhand"),
            ("247001", "Saharanpur, UP"),
            ("244001", "Moradabad, UP"),
            ("262501", "Pithoragarh, Uttarakhand"),
            ("507001", "Khammam, Telangana"),
            ("813208", "Mirzachowki, Jharkhand"),
            ("814112", "Deoghar, Jharkhand"),
            ("781131", "Ri-Bhoi border, Meghalaya"),
            ("802131", "Buxar/Ballia diara"),
            ("999999", "not assigned"),
            ("900099", "Army Post Office"),
            ("153001", "not assigned"),
        ] {
            assert_eq!(state_of_pin(pin), PinState::Ambiguous, "{pin} ({place})");
        }
    }

    #[test]
    fn accepts_whitespace_and_one_internal_space() {
        assert_eq!(code(" 560034 "), Some(29));
        assert_eq!(code("560 034"), Some(29));
        assert_eq!(code("\t560 034\n"), Some(29));
        assert_eq!(state_of_pin("56 00 34"), PinState::NotAPin);
        assert_eq!(state_of_pin("560  034"), PinState::NotAPin);
    }

    #[test]
    fn not_a_pin() {
        for s in [
            "",
            " ",
            "5600",
            "56003a",
            "056003",
            "5600345",
            "000000",
            "560-034",
            "５６００３４",
            "+560034",
            "56003",
        ] {
            assert_eq!(state_of_pin(s), PinState::NotAPin, "{s:?}");
        }
    }

    #[test]
    fn table_is_sorted_disjoint_and_resolvable() {
        let mut last = 0u16;
        for &(lo, hi, code) in PREFIXES {
            assert!(lo > last && lo <= hi && (100..=999).contains(&hi), "{lo}..={hi}");
            assert!(state_by_code(code).is_some(), "{lo}..={hi}: code {code}");
            last = hi;
        }
        let known = |p: u16| PREFIXES.iter().any(|&(lo, hi, _)| (lo..=hi).contains(&p));
        for &p in SHARED_PREFIXES {
            assert!(!known(p), "{p} is both shared and known");
        }
        for &pin in SHARED_PINS {
            assert!(known((pin / 1000) as u16), "{pin} is already refused by its prefix");
        }
    }
}
