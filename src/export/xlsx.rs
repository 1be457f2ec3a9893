//! `finance.xlsx`: the period's tables as sheets a finance team can filter and sum. Money is
//! a number cell shown with Indian digit grouping (12,34,567.89, see [`INDIAN_MONEY`]), dates
//! and times are date cells, header rows are frozen and filtered, columns are as wide as what
//! they hold.
//!
//! Excel holds a number as a binary double: a cell shows the paisa exactly but sums of many
//! may drift in the last place. The exact figures are the Parquet and CSV (README says so).
//! Customer text is written as string cells, which a spreadsheet never evaluates: the
//! `=HYPERLINK(...)` a customer typed as its name stays text.
//!
//! Sheets are written in constant-memory mode (row by row through a temporary file), so a
//! sheet of any length costs a row of memory.

use std::path::Path;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader};
use arrow::datatypes::DataType;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet};

use super::cell::{Cell, batches, cell};
use super::gstr1::HsnRow;

/// Lakh and crore grouping, 1,23,45,678.90 and -1,23,456.70: `#,##0.00` in the en-IN locale
/// (LCID 4009). LibreOffice groups it so wherever it runs; Excel groups by the computer's region
/// (Indian on an English (India) Windows). The conditional `[>=10000000]##\,##…` trick often
/// used instead drops the minus sign of negative amounts (a credit shown as a debit).
pub const INDIAN_MONEY: &str = "[$-4009]#,##0.00";
/// Days from Excel's epoch (1899-12-30) to 1970-01-01.
const EXCEL_UNIX_EPOCH: f64 = 25_569.0;
/// Excel's last row.
const MAX_ROWS: u32 = 1_048_576;

struct Formats {
    header: Format,
    /// Over a column of numbers or dates: right-aligned, as they are.
    header_right: Format,
    money: Format,
    quantity: Format,
    date: Format,
    datetime: Format,
    note: Format,
}

impl Formats {
    fn new() -> Self {
        let header = Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0xE8EEF4))
            .set_border_bottom(FormatBorder::Thin);
        Self {
            header_right: header.clone().set_align(FormatAlign::Right),
            header,
            money: Format::new().set_num_format(INDIAN_MONEY),
            quantity: Format::new().set_num_format("#,##0.#####"),
            date: Format::new().set_num_format("dd-mmm-yyyy"),
            datetime: Format::new().set_num_format("dd-mmm-yyyy hh:mm:ss"),
            note: Format::new().set_italic(),
        }
    }
}

/// Columns whose decimals are not money.
fn is_quantity(column: &str) -> bool {
    matches!(column, "quantity" | "rate_percent")
}

/// The workbook being written.
pub struct Book {
    workbook: Workbook,
    formats: Formats,
    /// Rows written per sheet, for the manifest.
    pub sheets: Vec<(String, u64)>,
}

/// Which rows of a table a sheet shows: those whose text column `column` is one of `values`.
pub struct Only<'a> {
    pub column: &'a str,
    pub values: &'a [&'a str],
}

impl Book {
    /// A workbook titled `title`, dated `as_of` rather than now: the same tables give the
    /// same bytes, whenever written (a re-run, a crash's recovery).
    pub fn new(tempdir: &Path, title: &str, as_of: chrono::NaiveDate) -> anyhow::Result<Self> {
        use chrono::Datelike;
        let mut workbook = Workbook::new();
        workbook.set_tempdir(tempdir)?;
        let day = ExcelDateTime::from_ymd(as_of.year() as u16, as_of.month() as u8, as_of.day() as u8)?;
        workbook.set_properties(&DocProperties::new().set_title(title).set_creation_datetime(&day));
        Ok(Self {
            workbook,
            formats: Formats::new(),
            sheets: Vec::new(),
        })
    }

    /// A sheet of every row (or those `only` keeps) of a Parquet file, one batch at a time.
    /// A missing file (a stage not run) is an empty sheet that says so.
    pub fn table_sheet(&mut self, name: &str, src: &Path, only: Option<Only>) -> anyhow::Result<()> {
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        let f = &self.formats;
        if !src.exists() {
            sheet.write_string_with_format(0, 0, "Not written yet: run the stage that writes this table.", &f.note)?;
            self.sheets.push((name.to_string(), 0));
            return Ok(());
        }
        let reader = batches(src)?;
        let schema = reader.schema();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut widths: Vec<usize> = names.iter().map(|n| n.len() + 3).collect();
        for (c, field) in schema.fields().iter().enumerate() {
            let title = match field.data_type() {
                DataType::Timestamp(..) => format!("{} (UTC)", field.name()),
                _ => field.name().clone(),
            };
            widths[c] = widths[c].max(title.len() + 3);
            let header = match field.data_type() {
                DataType::Utf8 | DataType::Boolean => &f.header,
                _ => &f.header_right,
            };
            sheet.write_string_with_format(0, c as u16, &title, header)?;
        }
        let keep = only
            .as_ref()
            .map(|o| {
                names
                    .iter()
                    .position(|n| n == o.column)
                    .with_context(|| format!("{} has no column {}", src.display(), o.column))
            })
            .transpose()?;
        let mut row: u32 = 0;
        let mut left_out: u64 = 0;
        for batch in reader {
            let batch = batch.with_context(|| format!("cannot read {}", src.display()))?;
            for i in 0..batch.num_rows() {
                if let (Some(o), Some(k)) = (&only, keep) {
                    let v = batch.column(k).as_string::<i32>();
                    if v.is_null(i) || !o.values.contains(&v.value(i)) {
                        continue;
                    }
                }
                if row + 2 >= MAX_ROWS {
                    left_out += 1;
                    continue;
                }
                row += 1;
                write_row(sheet, f, &batch, &names, i, row, &mut widths)?;
            }
        }
        if left_out > 0 {
            let text = format!("{left_out} more rows do not fit a sheet: see the CSV of this table.");
            sheet.write_string_with_format(row + 1, 0, &text, &f.note)?;
        }
        finish(sheet, names.len(), row, &widths)?;
        self.sheets.push((name.to_string(), u64::from(row)));
        Ok(())
    }

    /// The HSN summary of the GSTR-1 (Table 12), B2B and B2C.
    pub fn hsn_sheet(&mut self, b2b: &[HsnRow], b2c: &[HsnRow]) -> anyhow::Result<()> {
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("HSN summary")?;
        let f = &self.formats;
        let titles = [
            "supply",
            "sac",
            "description",
            "uqc",
            "quantity",
            "rate_percent",
            "taxable",
            "igst",
            "cgst",
            "sgst",
            "cess",
        ];
        let mut widths: Vec<usize> = titles.iter().map(|t| t.len() + 3).collect();
        widths[2] = 48;
        for (c, t) in titles.iter().enumerate() {
            let header = if c < 4 { &f.header } else { &f.header_right };
            sheet.write_string_with_format(0, c as u16, *t, header)?;
        }
        let mut row = 0;
        for (supply, rows) in [("B2B", b2b), ("B2C", b2c)] {
            for r in rows {
                row += 1;
                sheet.write_string(row, 0, supply)?;
                sheet.write_string(row, 1, &r.hsn_sc)?;
                sheet.write_string(row, 2, &r.desc)?;
                sheet.write_string(row, 3, r.uqc)?;
                sheet.write_number_with_format(row, 4, number(r.qty.0), &f.quantity)?;
                sheet.write_number_with_format(row, 5, number(r.rt.0), &f.quantity)?;
                for (c, v) in [r.txval, r.iamt, r.camt, r.samt, r.csamt].into_iter().enumerate() {
                    sheet.write_number_with_format(row, 6 + c as u16, number(v.0), &f.money)?;
                    widths[6 + c] = widths[6 + c].max(16);
                }
            }
        }
        finish(sheet, titles.len(), row, &widths)?;
        self.sheets.push(("HSN summary".to_string(), u64::from(row)));
        Ok(())
    }

    pub fn save(mut self, path: &Path) -> anyhow::Result<Vec<(String, u64)>> {
        self.workbook
            .save(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(self.sheets)
    }
}

fn number(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// Frozen header, a filter over the data, widths that fit (within reason); printed landscape,
/// one page wide, the header on every page.
fn finish(sheet: &mut Worksheet, columns: usize, last_row: u32, widths: &[usize]) -> anyhow::Result<()> {
    sheet.set_freeze_panes(1, 0)?;
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(0, 0)?;
    if columns > 0 {
        sheet.autofilter(0, 0, last_row, columns as u16 - 1)?;
    }
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, (*w + 2).min(60) as f64)?;
    }
    Ok(())
}

fn write_row(
    sheet: &mut Worksheet,
    f: &Formats,
    batch: &RecordBatch,
    names: &[String],
    i: usize,
    row: u32,
    widths: &mut [usize],
) -> anyhow::Result<()> {
    for (c, column) in batch.columns().iter().enumerate() {
        let Some(value) = cell(column.as_ref(), i)? else {
            continue;
        };
        let col = c as u16;
        let width = match value {
            Cell::Text(text) => {
                // A string cell: shown as written, never evaluated.
                sheet.write_string(row, col, text)?;
                text.chars().count() * 11 / 10 + 2
            }
            Cell::Bool(b) => {
                // Words, not TRUE/FALSE cells, which some spreadsheets show as 1 and 0.
                sheet.write_string(row, col, if b { "yes" } else { "no" })?;
                7
            }
            Cell::Int32(n) => {
                sheet.write_number(row, col, f64::from(n))?;
                8
            }
            Cell::Int64(n) => {
                sheet.write_number(row, col, n as f64)?;
                12
            }
            Cell::Decimal(d) => {
                let format = if is_quantity(&names[c]) { &f.quantity } else { &f.money };
                sheet.write_number_with_format(row, col, number(d), format)?;
                16
            }
            Cell::Date(days) => {
                sheet.write_number_with_format(row, col, f64::from(days) + EXCEL_UNIX_EPOCH, &f.date)?;
                14
            }
            Cell::Timestamp(t) => {
                let serial = t as f64 / 86_400_000_000.0 + EXCEL_UNIX_EPOCH;
                sheet.write_number_with_format(row, col, serial, &f.datetime)?;
                21
            }
        };
        widths[c] = widths[c].max(width);
    }
    Ok(())
}
