//! How GST applies to an invoice, named once for the invoice stage and the `invoices` table.

/// The GST treatment of a supply, from the supplier's state and the place of supply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Treatment {
    /// CGST + SGST. (The default only so a reader can fill a row.)
    #[default]
    IntraState,
    /// CGST + UTGST (union territory without a legislature).
    IntraUnionTerritory,
    /// IGST.
    InterState,
    /// Export of services under a letter of undertaking: zero-rated.
    ExportUnderLut,
    /// To an SEZ unit or developer, with payment of IGST (in any state: IGST Act s.7(5)(b)).
    SezWithPayment,
    /// To an SEZ unit or developer under a letter of undertaking: zero-rated (IGST Act s.16).
    SezUnderLut,
}

impl Treatment {
    pub const ALL: [Treatment; 6] = [
        Treatment::IntraState,
        Treatment::IntraUnionTerritory,
        Treatment::InterState,
        Treatment::ExportUnderLut,
        Treatment::SezWithPayment,
        Treatment::SezUnderLut,
    ];

    /// The text the `invoices` table stores and the invoice's serialization carries.
    pub fn as_str(self) -> &'static str {
        match self {
            Treatment::IntraState => "intra_state",
            Treatment::IntraUnionTerritory => "intra_union_territory",
            Treatment::InterState => "inter_state",
            Treatment::ExportUnderLut => "export_under_lut",
            Treatment::SezWithPayment => "sez_with_payment",
            Treatment::SezUnderLut => "sez_under_lut",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl serde::Serialize for Treatment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Treatment {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Treatment::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown GST treatment {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_snake_case_of_the_variants_and_parse_back() {
        let names: Vec<&str> = Treatment::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "intra_state",
                "intra_union_territory",
                "inter_state",
                "export_under_lut",
                "sez_with_payment",
                "sez_under_lut"
            ]
        );
        for t in Treatment::ALL {
            assert_eq!(Treatment::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
    }
}
