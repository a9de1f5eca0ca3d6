//! Inputs for the job service benchmark (`benches/jobs.sh`), which drives onetime with oha: job
//! bodies to post, one JSON document a line. (The employer that posts them is a real account the
//! script registers: posting needs one.)
//!
//! ```text
//! job-bench bodies --count 100000 > jobs.jsonl
//! ```

use std::io::{BufWriter, Write};

use clap::{Parser, Subcommand};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Parser)]
#[command(about = "Job bodies for the job service benchmark")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints `count` valid job bodies, one a line, spread evenly over the eight default
    /// categories, with varied titles, wages and times.
    Bodies {
        #[arg(long, default_value_t = 100_000)]
        count: u64,
    },
}

/// The default categories of the job service.
const CATEGORIES: [&str; 8] = [
    "food-cafe",
    "logistics",
    "retail",
    "events",
    "office",
    "cleaning",
    "construction",
    "etc",
];

const TITLES: [&str; 8] = [
    "주말 카페 바리스타",
    "물류센터 상하차",
    "편의점 야간 판매",
    "콘서트 행사 스태프",
    "사무실 문서 정리",
    "오피스 청소",
    "인테리어 현장 보조",
    "전단지 배포",
];

fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Bodies { count } => {
            let tomorrow = OffsetDateTime::now_utc().replace_nanosecond(0)? + time::Duration::days(1);
            let mut out = BufWriter::new(std::io::stdout().lock());
            for n in 0..count {
                let i = n as usize;
                let starts_at = tomorrow + time::Duration::minutes((n % 1440) as i64);
                let hours = 4 + (n % 5) as i64;
                let body = json!({
                    "title": format!("{} #{n}", TITLES[i % TITLES.len()]),
                    "description": "벤치마크용 공고입니다. 성실하신 분을 찾습니다.",
                    "category": CATEGORIES[i % CATEGORIES.len()],
                    "wage": { "type": "hourly", "amount": 10_320 + (n % 50) as i64 * 100 },
                    "location": {
                        "address": "서울 중구 세종대로 110",
                        "lat": 37.5 + (n % 1000) as f64 / 10_000.0,
                        "lng": 126.9 + (n % 997) as f64 / 10_000.0,
                    },
                    "startsAt": starts_at.format(&Rfc3339)?,
                    "endsAt": (starts_at + time::Duration::hours(hours)).format(&Rfc3339)?,
                    "headcount": 1 + n % 10,
                });
                writeln!(out, "{body}")?;
            }
            out.flush()?;
        }
    }
    Ok(())
}
