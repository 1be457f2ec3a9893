//! A month of messy data (`DatasetSpec::messy`): every invoice's place of supply, taxes and
//! totals equal a calculation written here from the simulator's ground truth and the GST
//! rules (not through the invoice code), and every oddity the simulator planted is reported
//! as its own exception kind for exactly the account that carries it.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};
use vobiz_billing::layout::Layout;
use vobiz_billing::model::Period;
use vobiz_billing::pipeline;
use vobiz_billing::simulator::dataset::Account;
use vobiz_billing::simulator::truth::AccountTruth;
use vobiz_billing::simulator::{self, DatasetSpec, Messy};
use vobiz_billing::store::invoices::InvoiceRow;
use vobiz_billing::store::read;
use vobiz_billing::store::reconciliation::ExceptionRow;

use crate::pipeline::options;

/// The supplier's state: the demo supplier's GSTIN starts 29 (Karnataka).
const SUPPLIER_STATE: u8 = 29;

fn paise(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The GSTIN check character (GST's mod-36 Luhn), written here from the published rule.
fn gstin_is_valid(g: &str) -> bool {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let g = g.as_bytes();
    if g.len() != 15 {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in g[..14].iter().enumerate() {
        let Some(v) = ALPHABET.iter().position(|a| a == c) else {
            return false;
        };
        let p = v as u32 * if i % 2 == 1 { 2 } else { 1 };
        sum += p / 36 + p % 36;
    }
    ALPHABET[((36 - sum % 36) % 36) as usize] == g[14]
}

/// The state code of an Indian address as this test reads the spellings the simulator uses:
/// `None` when the text names no state.
fn state_code(state: &str, zip: Option<&str>) -> Option<u8> {
    let by_text = [
        ("Karnataka", 29),
        ("Maharashtra", 27),
        ("Tamil Nadu", 33),
        ("Tamilnadu", 33),
        ("TN", 33),
        ("Delhi", 7),
        ("New Delhi", 7),
        ("Telangana", 36),
        ("Gujarat", 24),
        ("Uttar Pradesh", 9),
        ("West Bengal", 19),
        ("Kerala", 32),
        ("Haryana", 6),
        ("Rajasthan", 8),
        ("Chandigarh", 4),
        ("Orissa", 21),
        ("Pondicherry", 34),
        ("Jammu & Kashmir", 1),
        ("Daman and Diu", 26),
    ];
    match state.trim() {
        "" => match zip.map(str::trim) {
            Some("560034") => Some(29),
            // Unregistered with no state at all: the supplier's (IGST Act s.12(2)(b)).
            _ => Some(SUPPLIER_STATE),
        },
        t => by_text.iter().find(|(name, _)| *name == t).map(|(_, code)| *code),
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Expected {
    pos: u8,
    taxable: Decimal,
    cgst: Decimal,
    sgst: Decimal,
    igst: Decimal,
}

/// What the invoice of `t` must say, or `None` when it must get none.
fn oddities(t: &AccountTruth) -> &[String] {
    t.oddities.as_deref().expect("messy truth names the oddities")
}

fn expected(t: &AccountTruth, a: &Account, sez: bool) -> Option<Expected> {
    let billable = t.billable.as_ref().expect("messy truth says what to bill");
    let mut amounts: Vec<Decimal> = Vec::new();
    for by_direction in billable.calls.values() {
        amounts.extend(by_direction.values().map(|c| c.cost));
    }
    if billable.streaming.sessions > 0 {
        amounts.push(billable.streaming.cost);
    }
    amounts.extend(billable.charges.values().map(|c| c.amount));
    let taxable: Decimal = amounts.iter().map(|x| paise(*x)).sum();
    if taxable <= Decimal::ZERO {
        return None;
    }
    // A charge whose status nobody documented, or a registration status nobody knows: no invoice.
    if oddities(t)
        .iter()
        .any(|o| o == "unknown_ledger_status" || o == "unknown_gst_status")
    {
        return None;
    }
    let gstin: Option<String> = a
        .gstin
        .as_deref()
        .map(|g| g.replace(' ', "").to_uppercase())
        .filter(|g| gstin_is_valid(g) && a.gst_status != Some("inactive"));
    let export = a.country != "IN";
    let pos = if export {
        96
    } else if let Some(g) = &gstin {
        g[..2].parse().unwrap()
    } else {
        state_code(a.state.as_deref().unwrap_or(""), a.zip_code.as_deref())?
    };
    let (mut cgst, mut sgst, mut igst) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for x in &amounts {
        let line = paise(*x);
        if export {
        } else if sez || pos != SUPPLIER_STATE {
            igst += paise(line * Decimal::new(18, 2));
        } else {
            cgst += paise(line * Decimal::new(9, 2));
            sgst += paise(line * Decimal::new(9, 2));
        }
    }
    Some(Expected {
        pos,
        taxable,
        cgst,
        sgst,
        igst,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_messy_month_is_billed_as_an_independent_calculation_says_and_every_oddity_is_reported() {
    let period: Period = "2026-03".parse().unwrap();
    let mut spec = DatasetSpec::new(7, 50, 120, period);
    spec.messy = true;
    let sim = simulator::start(spec, "none".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let truth = {
        let s = sim.sim.clone();
        tokio::task::spawn_blocking(move || simulator::truth::compute(&s))
            .await
            .unwrap()
    };
    let ds = &sim.sim.ds;
    let sez = ds.messy_account(Messy::Sez).expect("an SEZ customer").auth_id.clone();
    let out = tempfile::tempdir().unwrap();
    let mut opts = options(&sim.base_url(), out.path());
    opts.config.invoice.sez_with_payment = vec![sez.clone()];
    let summary = pipeline::run(&opts).await.unwrap();
    assert_eq!(summary.invoice_stage, "finalized");
    let layout = Layout::new(out.path());

    // Every invoice, head by head.
    let invoices: BTreeMap<String, InvoiceRow> = read::all::<InvoiceRow>(&layout, period)
        .unwrap()
        .into_iter()
        .map(|r| (r.auth_id.clone(), r))
        .collect();
    let mut want = BTreeMap::new();
    for t in &truth.accounts {
        let a = ds.account(&t.auth_id).unwrap();
        if let Some(e) = expected(t, a, t.auth_id == sez) {
            want.insert(t.auth_id.clone(), e);
        }
    }
    let got: BTreeMap<String, Expected> = invoices
        .iter()
        .map(|(id, r)| {
            (
                id.clone(),
                Expected {
                    pos: r.place_of_supply_code as u8,
                    taxable: r.taxable,
                    cgst: r.cgst,
                    sgst: r.sgst,
                    igst: r.igst,
                },
            )
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "who is invoiced"
    );
    for (id, e) in &want {
        assert_eq!(&got[id], e, "invoice of {id}");
        let r = &invoices[id];
        assert_eq!(r.total, e.taxable + e.cgst + e.sgst + e.igst, "total of {id}");
    }
    // The SEZ unit is in the supplier's state and still pays IGST.
    assert_eq!((want[&sez].pos, want[&sez].cgst), (SUPPLIER_STATE, Decimal::ZERO));
    assert!(want[&sez].igst > Decimal::ZERO);

    // Every planted oddity as its own kind, for exactly its account.
    let exceptions = read::all::<ExceptionRow>(&layout, period).unwrap();
    let planted: BTreeSet<&str> = truth
        .accounts
        .iter()
        .flat_map(|t| oddities(t).iter().map(String::as_str))
        .collect();
    assert!(planted.len() >= 15, "{planted:?}");
    for kind in planted {
        let carriers: BTreeSet<&str> = truth
            .accounts
            .iter()
            .filter(|t| oddities(t).iter().any(|o| o == kind))
            .map(|t| t.auth_id.as_str())
            .collect();
        let reported: BTreeSet<&str> = exceptions
            .iter()
            .filter(|e| e.kind.as_str() == kind)
            .map(|e| e.auth_id.as_str())
            .collect();
        assert_eq!(reported, carriers, "accounts reported with {kind}");
    }

    exports_agree_with_the_invoices(&layout, period, &invoices, &sez);

    // The SEZ customer dropped from the configuration after its invoice was issued: a change
    // of recipient for a person, never a credit and a debit note that re-tax the month.
    let rerun = pipeline::run(&options(&sim.base_url(), out.path())).await.unwrap();
    assert_eq!((rerun.invoice_stage, rerun.notes), ("final, unchanged", 0));
}

/// The exports of the messy month: each customer's call statement sums, per product and
/// direction, to exactly the invoice's call line (refunds netted); the GSTR-1 files every
/// invoice in its table, the SEZ unit as `SEWP`, the sums equal to the invoices to the paisa.
fn exports_agree_with_the_invoices(
    layout: &Layout,
    period: Period,
    invoices: &BTreeMap<String, InvoiceRow>,
    sez: &str,
) {
    use vobiz_billing::store::invoices::DocumentLineRow;
    let lines = read::all::<DocumentLineRow>(layout, period).unwrap();
    let mut statements = 0;
    for (id, inv) in invoices {
        let want: BTreeMap<String, Decimal> = lines
            .iter()
            .filter(|l| l.number == inv.number && l.key.starts_with("calls/"))
            .map(|l| (l.key.clone(), l.taxable))
            .collect();
        let path = layout.statement(period, &vobiz_billing::model::AccountId::parse(id).unwrap());
        let mut got: BTreeMap<String, Decimal> = BTreeMap::new();
        if path.exists() {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut rows = text.lines();
            let header: Vec<&str> = rows.next().unwrap().split(',').collect();
            let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
            let (product, direction, billed) = (col("product"), col("direction"), col("billed"));
            for row in rows {
                // Numbers and names in the demo data hold no commas (quoted fields would).
                let f: Vec<&str> = row.split(',').collect();
                *got.entry(format!("calls/{}/{}", f[product], f[direction])).or_default() +=
                    Decimal::from_str_exact(f[billed]).unwrap();
            }
            statements += 1;
        }
        // The line's taxable is the exact sum rounded once to the paisa.
        let got: BTreeMap<String, Decimal> = got
            .into_iter()
            .map(|(k, v)| (k, paise(v)))
            .filter(|(_, v)| !v.is_zero())
            .collect();
        let want: BTreeMap<String, Decimal> = want.into_iter().filter(|(_, v)| !v.is_zero()).collect();
        assert_eq!(got, want, "statement of {id}");
    }
    assert!(statements >= 30, "{statements} statements");

    let g: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.gstr1_json(period)).unwrap()).unwrap();
    let money = |v: &serde_json::Value| Decimal::from_str_exact(&v.to_string()).unwrap();
    let (mut b2b, mut b2c) = (Decimal::ZERO, Decimal::ZERO);
    for party in g["b2b"].as_array().unwrap() {
        for inv in party["inv"].as_array().unwrap() {
            let number = inv["inum"].as_str().unwrap();
            let r = invoices.values().find(|r| r.number == number).unwrap();
            assert_eq!(party["ctin"].as_str(), r.gstin.as_deref());
            assert_eq!(inv["inv_typ"], if r.auth_id == sez { "SEWP" } else { "R" }, "{number}");
            assert_eq!(money(&inv["val"]), r.total);
            b2b += money(&inv["itms"][0]["itm_det"]["txval"]);
        }
    }
    for row in g["b2cs"].as_array().unwrap() {
        b2c += money(&row["txval"]);
    }
    for party in g["b2cl"].as_array().unwrap() {
        for inv in party["inv"].as_array().unwrap() {
            b2c += money(&inv["itms"][0]["itm_det"]["txval"]);
        }
    }
    for e in g["exp"].as_array().unwrap() {
        for inv in e["inv"].as_array().unwrap() {
            b2c += money(&inv["itms"][0]["txval"]);
        }
    }
    let sum = |b2b_wanted: bool| -> Decimal {
        invoices
            .values()
            .filter(|r| r.b2b == b2b_wanted)
            .map(|r| r.taxable)
            .sum()
    };
    assert_eq!((b2b, b2c), (sum(true), sum(false)), "GSTR-1 B2B and B2C taxable");
    // The report links the workbook, the return and each invoiced customer's statement.
    let report = std::fs::read_to_string(layout.report_html(period)).unwrap();
    for href in ["finance.xlsx", "gstr1.json"] {
        assert!(report.contains(&format!("href=\"{href}\"")), "report links {href}");
    }
    for id in invoices.keys() {
        assert!(
            report.contains(&format!("href=\"statements/{id}.csv\"")),
            "report links the statement of {id}"
        );
    }
    let issued = &g["doc_issue"]["doc_det"][0]["docs"][0];
    assert_eq!(issued["totnum"].as_u64(), Some(invoices.len() as u64));
}
