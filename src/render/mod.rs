//! HTML through Tera. Templates are compiled into the binary (it runs from any directory) and
//! every one is autoescaped: customer names and addresses are untrusted text. Views arrive
//! pre-formatted (amounts already rounded and grouped), so templates hold no logic.

use anyhow::Context;
use serde::Serialize;
use tera::Tera;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html.tera")),
    (
        "reconciliation.html",
        include_str!("../../templates/reconciliation.html.tera"),
    ),
    ("invoice.html", include_str!("../../templates/invoice.html.tera")),
    ("report.html", include_str!("../../templates/report.html.tera")),
];

pub struct Renderer {
    tera: Tera,
}

impl Renderer {
    pub fn new() -> anyhow::Result<Self> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .context("compiling templates")?;
        // Escape in every template, whatever its name.
        tera.autoescape_on(vec![""]);
        Ok(Self { tera })
    }

    pub fn render(&self, template: &str, view: &impl Serialize) -> anyhow::Result<String> {
        let ctx = tera::Context::from_serialize(view).context("building the template context")?;
        self.tera
            .render(template, &ctx)
            .with_context(|| format!("rendering {template}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_escapes_customer_text() {
        let mut r = Renderer::new().unwrap();
        r.tera.add_raw_template("t.txt", "{{ name }}").unwrap();
        let out = r
            .render("t.txt", &serde_json::json!({"name": "<script>alert(1)</script>"}))
            .unwrap();
        assert_eq!(out, "&lt;script&gt;alert(1)&lt;&#x2F;script&gt;");
    }
}
