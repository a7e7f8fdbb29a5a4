//! The PDF of an invoice or credit note: one A4 page in the PDF's built-in Helvetica, so that
//! no font is embedded, written with `lopdf`.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

use crate::invoicing::view::View;

const WIDTH: i64 = 595;
const HEIGHT: i64 = 842;
const LEFT: f32 = 50.0;
/// Where the table's amount columns start.
const COLUMNS: [f32; 4] = [LEFT, 300.0, 390.0, 480.0];
/// Characters of a description that fit before the first amount column at 10 pt.
const DESCRIPTION_CHARS: usize = 46;

/// Text in WinAnsiEncoding, the built-in fonts' encoding: Latin-1 (Norwegian's æ, ø and å
/// included) and the euro sign; anything else becomes `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '–' => 0x96,
            '—' => 0x97,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u8,
            _ => b'?',
        })
        .collect()
}

/// Operations that write, top down.
struct Page {
    ops: Vec<Operation>,
    y: f32,
}

impl Page {
    fn text(&mut self, x: f32, font: &str, size: f32, text: &str) {
        self.ops.extend([
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec![font.into(), size.into()]),
            Operation::new("Td", vec![x.into(), self.y.into()]),
            Operation::new("Tj", vec![Object::string_literal(win_ansi(text))]),
            Operation::new("ET", vec![]),
        ]);
    }

    fn line(&mut self, font: &str, size: f32, text: &str) {
        self.text(LEFT, font, size, text);
        self.down(size + 5.0);
    }

    fn row(&mut self, font: &str, cells: &[String; 4]) {
        let description: String = cells[0].chars().take(DESCRIPTION_CHARS).collect();
        self.text(COLUMNS[0], font, 10.0, &description);
        for (x, cell) in COLUMNS.iter().zip(cells).skip(1) {
            self.text(*x, font, 10.0, cell);
        }
        self.down(16.0);
    }

    fn down(&mut self, by: f32) {
        self.y -= by;
    }

    fn rule(&mut self) {
        let y = self.y + 11.0;
        self.ops.extend([
            Operation::new("m", vec![LEFT.into(), y.into()]),
            Operation::new("l", vec![(WIDTH as f32 - LEFT).into(), y.into()]),
            Operation::new("S", vec![]),
        ]);
    }
}

/// The view as a PDF document's bytes.
pub fn render(view: &View) -> Result<Vec<u8>, lopdf::Error> {
    let mut page = Page { ops: Vec::new(), y: HEIGHT as f32 - 60.0 };
    page.line("F2", 18.0, &view.title);
    page.down(6.0);
    for (label, value) in &view.facts {
        page.line("F1", 10.0, &format!("{label}: {value}"));
    }
    page.down(10.0);
    let top = page.y;
    page.line("F2", 11.0, &view.seller_heading);
    for l in &view.seller {
        page.line("F1", 10.0, l);
    }
    let below_seller = page.y;
    page.y = top;
    for (i, l) in std::iter::once(&view.buyer_heading).chain(&view.buyer).enumerate() {
        let (font, size) = if i == 0 { ("F2", 11.0) } else { ("F1", 10.0) };
        page.text(320.0, font, size, l);
        page.down(size + 5.0);
    }
    page.y = page.y.min(below_seller) - 16.0;
    page.row("F2", &view.headings);
    page.rule();
    for row in &view.rows {
        page.row("F1", row);
    }
    page.rule();
    page.row("F2", &view.total);
    page.down(10.0);
    page.line("F1", 10.0, &view.note);

    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = |name: &str| {
        dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => name.to_owned(),
            "Encoding" => "WinAnsiEncoding",
        }
    };
    let regular = doc.add_object(font("Helvetica"));
    let bold = doc.add_object(font("Helvetica-Bold"));
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
    });
    let content = Content { operations: page.ops }.encode()?;
    let content_id = doc.add_object(Stream::new(dictionary! {}, content));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), WIDTH.into(), HEIGHT.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    doc.compress();
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pdf_is_one_page_that_reads_back_as_the_view() {
        let view = View {
            title: "Kreditnota TB-000002".into(),
            facts: vec![("Krediterer faktura".into(), "TB-000001".into())],
            seller_heading: "Selger".into(),
            seller: vec!["Kurs og Opplæring AS".into()],
            buyer_heading: "Kjøper".into(),
            buyer: vec!["Ada Tester".into()],
            headings: ["Beskrivelse", "Netto", "MVA 25 %", "Beløp"].map(String::from),
            rows: vec![["Tilbakebetaling", "8.00 EUR", "2.00 EUR", "10.00 EUR"].map(String::from)],
            total: ["Sum tilbakebetalt", "8.00 EUR", "2.00 EUR", "10.00 EUR"].map(String::from),
            note: "Prisene er inkludert MVA.".into(),
        };
        let doc = Document::load_mem(&render(&view).unwrap()).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
        let text = doc.extract_text(&[1]).unwrap();
        for shown in ["Kreditnota TB-000002", "Opplæring", "Kjøper", "Beløp", "10.00 EUR"] {
            assert!(text.contains(shown), "{shown} missing from {text}");
        }
    }

    #[test]
    fn norwegian_letters_and_the_euro_are_kept_and_the_rest_is_replaced() {
        assert_eq!(win_ansi("Kjøper æ å €"), b"Kj\xf8per \xe6 \xe5 \x80".to_vec());
        assert_eq!(win_ansi("日本"), b"??".to_vec());
    }
}
