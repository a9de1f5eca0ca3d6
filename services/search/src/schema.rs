//! The index schema, and how a job becomes a document.
//!
//! Text fields use the Korean analyzer; `keys` holds the same terms as keystrokes for typo
//! tolerance below the syllable, `initials` their initial consonants for 초성 queries. `shift`
//! holds when a job starts in Korea (slots like 오전, 주말), and the wage fields what it pays,
//! for the boosts of query intents. Filters and sorts read fast fields. The job itself is stored
//! as JSON, so results come back whole without a call to the job service.

use onetime_common::events::job::{Job, WageKind};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};
use tantivy::{DateTime, TantivyDocument};

use crate::analysis::{InitialsTokenizer, KeystrokeTokenizer, KoreanTokenizer};

/// Bumped whenever the schema, the analysis or what is indexed changes: an index of another
/// version is rebuilt. 2: daily wages per paid hour (break time), jobs stored with their break;
/// 3: 초성, start-slot and wage fields for query understanding; 4: what a shift pays a worker
/// (`pay`) instead of the wage amount, so that a daily amount asked is met by hourly jobs too.
pub const SCHEMA_VERSION: u32 = 4;

pub const KOREAN: &str = "korean";
pub const KEYSTROKES: &str = "keystrokes";
pub const INITIALS: &str = "initials";

/// The fields, by name.
#[derive(Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub title: Field,
    pub description: Field,
    pub address: Field,
    pub category_name: Field,
    pub keys: Field,
    pub initials: Field,
    pub shift: Field,
    pub wage_kind: Field,
    pub pay: Field,
    pub category: Field,
    pub hourly_wage: Field,
    pub lat: Field,
    pub lng: Field,
    pub starts_at: Field,
    pub created_at: Field,
    pub job: Field,
}

/// The fields of a schema made by [`build`].
pub fn fields(schema: &Schema) -> Fields {
    // `build` made every one of these.
    let field = |name: &str| schema.get_field(name).expect("the index schema has every field");
    Fields {
        id: field("id"),
        title: field("title"),
        description: field("description"),
        address: field("address"),
        category_name: field("category_name"),
        keys: field("keys"),
        initials: field("initials"),
        shift: field("shift"),
        wage_kind: field("wage_kind"),
        pay: field("pay"),
        category: field("category"),
        hourly_wage: field("hourly_wage"),
        lat: field("lat"),
        lng: field("lng"),
        starts_at: field("starts_at"),
        created_at: field("created_at"),
        job: field("job"),
    }
}

pub fn build() -> Schema {
    let mut schema = Schema::builder();
    let text = |tokenizer: &str, stored: bool| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let options = TextOptions::default().set_indexing_options(indexing);
        if stored { options.set_stored() } else { options }
    };
    schema.add_text_field("id", STRING | STORED);
    schema.add_text_field("title", text(KOREAN, true));
    schema.add_text_field("description", text(KOREAN, true));
    schema.add_text_field("address", text(KOREAN, false));
    schema.add_text_field("category_name", text(KOREAN, false));
    schema.add_text_field("keys", text(KEYSTROKES, false));
    schema.add_text_field("initials", text(INITIALS, false));
    schema.add_text_field("shift", STRING);
    schema.add_text_field("wage_kind", STRING);
    schema.add_i64_field("pay", INDEXED);
    schema.add_text_field("category", STRING | FAST);
    schema.add_i64_field("hourly_wage", INDEXED | FAST);
    schema.add_f64_field("lat", INDEXED | FAST);
    schema.add_f64_field("lng", INDEXED | FAST);
    // Jobs posted within the same second still sort, and page, in a stable order.
    let instant = DateOptions::from(INDEXED | FAST).set_precision(DateTimePrecision::Microseconds);
    schema.add_date_field("starts_at", instant.clone());
    schema.add_date_field("created_at", instant);
    schema.add_text_field("job", STORED);
    schema.build()
}

/// Registers the analyzers the schema names.
pub fn register_tokenizers(manager: &TokenizerManager) {
    manager.register(KOREAN, TextAnalyzer::from(KoreanTokenizer));
    manager.register(KEYSTROKES, TextAnalyzer::from(KeystrokeTokenizer));
    manager.register(INITIALS, TextAnalyzer::from(InitialsTokenizer));
}

/// The wage per paid hour a job pays, for filtering and sorting across hourly and daily wages:
/// a daily wage is spread over the paid time (the span less the break), as the job service's
/// minimum-wage check does.
pub fn hourly_equivalent(job: &Job) -> i64 {
    match job.wage.kind {
        WageKind::Hourly => job.wage.amount,
        WageKind::Daily => job.wage.amount * 60 / i64::from(job.paid_minutes.max(1)),
    }
}

/// Every slot [`shift_slots`] gives: what a time word of the query can ask for.
pub const SLOTS: [&str; 7] = ["새벽", "오전", "오후", "저녁", "야간", "주말", "평일"];

/// The slots of the day and week a job starting at `at` falls in, in Korea time: 새벽 (before
/// 7), 오전 (6–12), 오후 (12–18), 저녁 (17–22), 야간 (from 20 to 6), and 주말 or 평일. Slots
/// overlap where people's words do (a 20:00 shift is both 저녁 and 야간).
pub fn shift_slots(at: time::OffsetDateTime) -> Vec<&'static str> {
    let local = at.to_offset(time::macros::offset!(+9));
    let hour = local.hour();
    let mut slots = Vec::new();
    for (slot, from, to) in [
        ("새벽", 0, 7),
        ("오전", 6, 12),
        ("오후", 12, 18),
        ("저녁", 17, 22),
        ("야간", 20, 24),
        ("야간", 0, 6),
    ] {
        if (from..to).contains(&hour) && !slots.contains(&slot) {
            slots.push(slot);
        }
    }
    let weekend = matches!(local.weekday(), time::Weekday::Saturday | time::Weekday::Sunday);
    slots.push(if weekend { "주말" } else { "평일" });
    slots
}

/// The wage kind as the `wage_kind` field holds it.
pub fn wage_kind(kind: WageKind) -> &'static str {
    match kind {
        WageKind::Hourly => "hourly",
        WageKind::Daily => "daily",
    }
}

pub fn date(at: time::OffsetDateTime) -> DateTime {
    DateTime::from_timestamp_micros((at.unix_timestamp_nanos() / 1000) as i64)
}

pub fn document(fields: &Fields, job: &Job) -> TantivyDocument {
    let category_name = job.category_name.as_deref().unwrap_or(&job.category);
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.id, &job.id);
    doc.add_text(fields.title, &job.title);
    doc.add_text(fields.description, &job.description);
    doc.add_text(fields.address, &job.location.address);
    doc.add_text(fields.category_name, category_name);
    doc.add_text(fields.keys, format!("{} {}", job.title, category_name));
    doc.add_text(fields.initials, format!("{} {}", job.title, category_name));
    for slot in shift_slots(job.starts_at) {
        doc.add_text(fields.shift, slot);
    }
    doc.add_text(fields.wage_kind, wage_kind(job.wage.kind));
    doc.add_i64(fields.pay, job.pay_per_worker);
    doc.add_text(fields.category, &job.category);
    doc.add_i64(fields.hourly_wage, hourly_equivalent(job));
    doc.add_f64(fields.lat, job.location.lat);
    doc.add_f64(fields.lng, job.location.lng);
    doc.add_date(fields.starts_at, date(job.starts_at));
    doc.add_date(fields.created_at, date(job.created_at));
    // A `Job` is plain data: serializing it cannot fail.
    doc.add_text(fields.job, serde_json::to_string(job).expect("a job serializes"));
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_are_read_in_korea_time() {
        // 2026-12-05 is a Saturday; 19:00 UTC on the Friday is 04:00 on it in Korea.
        let at = time::macros::datetime!(2026-12-04 19:00 UTC);
        assert_eq!(shift_slots(at), ["새벽", "야간", "주말"]);
        let at = time::macros::datetime!(2026-12-07 11:00 UTC);
        assert_eq!(shift_slots(at), ["저녁", "야간", "평일"]);
        let at = time::macros::datetime!(2026-12-07 00:30 UTC);
        assert_eq!(shift_slots(at), ["오전", "평일"]);
    }
}
