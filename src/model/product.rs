//! The products a call is billed as, named once for invoices and the partner report.

/// A call's product, from its CDR `context`.
pub fn product_label(context: &str) -> &'static str {
    match context {
        "voice-api" => "Voice API",
        "sip-trunking" => "SIP trunking",
        _ => "Calls",
    }
}
