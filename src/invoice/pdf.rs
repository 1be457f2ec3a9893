//! The invoice as PDF, typeset by the typst compiler linked into the binary.
//!
//! The typst template (`templates/invoice.typ`) is fixed; each invoice reaches it as JSON data
//! read with `json("/invoice.json")`, never as typst source, so customer text is always set as
//! text and cannot run markup. Fonts (Noto Sans with ₹, Noto Sans Devanagari) are compiled in
//! and no system font is consulted: output is the same on every machine. The PDF carries no
//! creation time and its document id is derived from the invoice number, so a re-run writes
//! byte-identical files.

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

const TEMPLATE: &str = include_str!("../../templates/invoice.typ");

const FONTS: &[&[u8]] = &[
    include_bytes!("../../templates/fonts/NotoSans-Regular.ttf"),
    include_bytes!("../../templates/fonts/NotoSans-Bold.ttf"),
    include_bytes!("../../templates/fonts/NotoSansDevanagari-Regular.ttf"),
    include_bytes!("../../templates/fonts/NotoSansDevanagari-Bold.ttf"),
];

/// Cache entries unused over this many documents are evicted (see [`PdfRenderer::render`]).
const EVICT_AFTER: usize = 4;

/// What every invoice shares: the standard library, the fonts and the parsed template.
/// Build one per run; typst memoizes layout work across the invoices it renders.
pub struct PdfRenderer {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    template: Source,
    data: FileId,
}

impl PdfRenderer {
    pub fn new() -> anyhow::Result<Self> {
        let fonts: Vec<Font> = FONTS.iter().flat_map(|f| Font::iter(Bytes::new(*f))).collect();
        anyhow::ensure!(fonts.len() == FONTS.len(), "an embedded font did not load");
        let book = FontBook::from_fonts(&fonts);
        let id = |path: &str| -> anyhow::Result<FileId> {
            let vpath = VirtualPath::new(path).map_err(|e| anyhow::anyhow!("{path}: {e:?}"))?;
            Ok(FileId::new(RootedPath::new(VirtualRoot::Project, vpath)))
        };
        Ok(Self {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(book),
            fonts,
            template: Source::new(id("/invoice.typ")?, TEMPLATE.to_string()),
            data: id("/invoice.json")?,
        })
    }

    /// Typeset one invoice. `view` is the same document view the HTML template gets; `number`
    /// seeds the PDF's document id; `date` is what `datetime.today()` answers (never the clock).
    pub fn render(&self, view: &impl Serialize, number: &str, date: NaiveDate) -> anyhow::Result<Vec<u8>> {
        let data = serde_json::to_vec(view).context("serializing the invoice for typst")?;
        let job = Job {
            renderer: self,
            data: Bytes::new(data),
            today: Datetime::from_ymd(date.year(), date.month() as u8, date.day() as u8),
        };
        let document: PagedDocument = typst::compile(&job)
            .output
            .map_err(|e| diagnostics("typesetting", &e))?;
        // typst memoizes layout work in a process-wide cache that nothing empties: over a
        // month's invoices it grew by megabytes a document (710 MiB for 194 of them). Keep
        // what the last few documents used (the template, the fonts), drop the rest.
        typst::comemo::evict(EVICT_AFTER);
        let options = typst_pdf::PdfOptions {
            ident: Smart::Custom(format!("vobiz-billing tax invoice {number}")),
            ..Default::default()
        };
        typst_pdf::pdf(&document, &options).map_err(|e| diagnostics("writing the PDF", &e))
    }
}

fn diagnostics(stage: &str, errors: &[SourceDiagnostic]) -> anyhow::Error {
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    anyhow::anyhow!("{stage} the invoice PDF failed: {}", messages.join("; "))
}

/// One compilation: the shared renderer plus this invoice's data.
struct Job<'a> {
    renderer: &'a PdfRenderer,
    data: Bytes,
    today: Option<Datetime>,
}

impl World for Job<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.renderer.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.renderer.book
    }

    fn main(&self) -> FileId {
        self.renderer.template.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.renderer.template.id() {
            Ok(self.renderer.template.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.renderer.data {
            Ok(self.data.clone())
        } else if id == self.renderer.template.id() {
            Ok(Bytes::from_string(self.renderer.template.clone()))
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.renderer.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}

/// The template can reach nothing but its data: no files, no packages, no network.
fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_with_slash().into())
}
