//! Realistic synthetic Korean job postings, for tests and benchmarks: titles, descriptions,
//! addresses across Korean regions with coordinates, legal wages. Deterministic for a seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use onetime_common::events::job::{Job, JobStatus, Location, Wage, WageKind};

/// A posting as `POST /jobs` takes it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Posting {
    pub title: String,
    pub description: String,
    pub category: String,
    pub wage: Wage,
    pub location: Location,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub break_minutes: u32,
    pub headcount: i64,
}

/// A place: district, street names, and its centre.
struct Area {
    city: &'static str,
    district: &'static str,
    streets: &'static [&'static str],
    lat: f64,
    lng: f64,
}

const AREAS: &[Area] = &[
    Area {
        city: "서울특별시",
        district: "강남구",
        streets: &["테헤란로", "강남대로", "논현로"],
        lat: 37.4979,
        lng: 127.0276,
    },
    Area {
        city: "서울특별시",
        district: "마포구",
        streets: &["양화로", "월드컵로", "독막로"],
        lat: 37.5563,
        lng: 126.9220,
    },
    Area {
        city: "서울특별시",
        district: "종로구",
        streets: &["종로", "세종대로", "율곡로"],
        lat: 37.5704,
        lng: 126.9921,
    },
    Area {
        city: "서울특별시",
        district: "송파구",
        streets: &["올림픽로", "송파대로"],
        lat: 37.5133,
        lng: 127.1001,
    },
    Area {
        city: "서울특별시",
        district: "영등포구",
        streets: &["여의대로", "영중로"],
        lat: 37.5216,
        lng: 126.9243,
    },
    Area {
        city: "서울특별시",
        district: "성동구",
        streets: &["왕십리로", "성수이로"],
        lat: 37.5446,
        lng: 127.0557,
    },
    Area {
        city: "서울특별시",
        district: "관악구",
        streets: &["관악로", "남부순환로"],
        lat: 37.4812,
        lng: 126.9527,
    },
    Area {
        city: "경기도",
        district: "성남시 분당구",
        streets: &["판교역로", "황새울로"],
        lat: 37.3827,
        lng: 127.1189,
    },
    Area {
        city: "경기도",
        district: "수원시 팔달구",
        streets: &["정조로", "경수대로"],
        lat: 37.2664,
        lng: 127.0286,
    },
    Area {
        city: "경기도",
        district: "고양시 일산동구",
        streets: &["중앙로", "일산로"],
        lat: 37.6584,
        lng: 126.7700,
    },
    Area {
        city: "경기도",
        district: "이천시",
        streets: &["경충대로", "중리천로"],
        lat: 37.2720,
        lng: 127.4350,
    },
    Area {
        city: "인천광역시",
        district: "연수구",
        streets: &["송도과학로", "컨벤시아대로"],
        lat: 37.3920,
        lng: 126.6400,
    },
    Area {
        city: "부산광역시",
        district: "해운대구",
        streets: &["해운대로", "센텀중앙로"],
        lat: 35.1631,
        lng: 129.1636,
    },
    Area {
        city: "부산광역시",
        district: "부산진구",
        streets: &["중앙대로", "서면로"],
        lat: 35.1577,
        lng: 129.0592,
    },
    Area {
        city: "대구광역시",
        district: "중구",
        streets: &["동성로", "국채보상로"],
        lat: 35.8693,
        lng: 128.5962,
    },
    Area {
        city: "대전광역시",
        district: "유성구",
        streets: &["대학로", "엑스포로"],
        lat: 36.3622,
        lng: 127.3562,
    },
    Area {
        city: "광주광역시",
        district: "서구",
        streets: &["상무대로", "시청로"],
        lat: 35.1520,
        lng: 126.8895,
    },
    Area {
        city: "울산광역시",
        district: "남구",
        streets: &["삼산로", "번영로"],
        lat: 35.5384,
        lng: 129.3114,
    },
    Area {
        city: "제주특별자치도",
        district: "제주시",
        streets: &["중앙로", "연동로"],
        lat: 33.4996,
        lng: 126.5312,
    },
];

/// Per category: title templates (`{place}` and `{brand}` filled in), description lines.
struct Kind {
    category: &'static str,
    titles: &'static [&'static str],
    lines: &'static [&'static str],
    /// Hourly wage range in won.
    wage: (i64, i64),
}

const KINDS: &[Kind] = &[
    Kind {
        category: "food-cafe",
        titles: &[
            "카페 바리스타",
            "{brand} 바리스타 구합니다",
            "주말 카페 알바",
            "음식점 홀서빙",
            "주방 보조 단기",
            "베이커리 판매 및 포장",
        ],
        lines: &[
            "커피 제조와 음료 서빙을 담당합니다.",
            "홀 서빙과 테이블 정리를 합니다.",
            "주방에서 재료 손질을 돕습니다.",
            "바리스타 경험자 우대합니다.",
        ],
        wage: (10_320, 14_000),
    },
    Kind {
        category: "logistics",
        titles: &[
            "물류센터 상하차",
            "{place} 물류센터 분류 작업",
            "택배 분류 단기 알바",
            "창고 입출고 관리",
            "새벽 배송 분류",
        ],
        lines: &[
            "택배 상자 분류와 상하차 작업입니다.",
            "물류 센터에서 입고된 상품을 검수합니다.",
            "지게차 자격증 소지자 우대.",
            "무거운 짐을 드는 작업이 있습니다.",
        ],
        wage: (11_000, 16_000),
    },
    Kind {
        category: "retail",
        titles: &[
            "편의점 야간 알바",
            "의류 매장 판매",
            "{brand} 매장 재고 정리",
            "마트 진열 보조",
            "화장품 매장 판매 스태프",
        ],
        lines: &[
            "계산과 상품 진열을 합니다.",
            "매장 재고 정리와 고객 응대를 담당합니다.",
            "친절한 분 환영합니다.",
        ],
        wage: (10_320, 12_500),
    },
    Kind {
        category: "events",
        titles: &[
            "콘서트 행사 스태프",
            "{place} 박람회 안내 요원",
            "전시회 부스 스태프",
            "축제 진행 보조",
            "웨딩홀 서빙 스태프",
        ],
        lines: &[
            "관람객 안내와 입장 관리를 합니다.",
            "행사장 설치와 철수를 돕습니다.",
            "단정한 복장으로 출근해 주세요.",
        ],
        wage: (11_000, 15_000),
    },
    Kind {
        category: "office",
        titles: &[
            "사무보조 단기",
            "데이터 입력 알바",
            "{brand} 서류 정리",
            "문서 스캔 작업",
            "전화 응대 사무 보조",
        ],
        lines: &[
            "엑셀로 데이터를 입력합니다.",
            "서류 분류와 스캔 작업입니다.",
            "컴퓨터 활용 가능자.",
        ],
        wage: (10_320, 13_000),
    },
    Kind {
        category: "cleaning",
        titles: &[
            "사무실 청소",
            "{place} 건물 미화",
            "입주 청소 보조",
            "호텔 객실 정리",
            "행사 후 청소",
        ],
        lines: &[
            "사무실 바닥과 화장실 청소를 합니다.",
            "객실 침구 교체와 정리를 담당합니다.",
            "청소 도구는 제공합니다.",
        ],
        wage: (10_500, 13_500),
    },
    Kind {
        category: "construction",
        titles: &[
            "건설 현장 보조",
            "{place} 인테리어 철거 보조",
            "자재 운반 일용직",
            "현장 정리 작업",
        ],
        lines: &[
            "건설 현장에서 자재를 운반합니다.",
            "안전화를 지참해 주세요.",
            "점심 식사 제공합니다.",
        ],
        wage: (13_000, 20_000),
    },
    Kind {
        category: "etc",
        titles: &["이사 보조", "설문 조사 요원", "전단지 배포", "반려견 산책 도우미"],
        lines: &["간단한 교육 후 바로 시작합니다.", "초보자도 가능합니다."],
        wage: (10_320, 12_000),
    },
];

const BRANDS: &[&str] = &[
    "스타벅스",
    "이디야",
    "파리바게뜨",
    "쿠팡",
    "CJ대한통운",
    "GS25",
    "올리브영",
    "다이소",
    "CU",
];

/// A generator of postings; the same seed gives the same postings.
pub struct Generator {
    rng: StdRng,
    now: OffsetDateTime,
}

impl Generator {
    pub fn new(seed: u64, now: OffsetDateTime) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            now,
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    pub fn posting(&mut self) -> Posting {
        let kind = self.pick(KINDS);
        let area = self.pick(AREAS);
        let brand = *self.pick(BRANDS);
        let title = self
            .pick(kind.titles)
            .replace("{brand}", brand)
            .replace("{place}", area.district.split(' ').next_back().unwrap_or(area.district));
        let mut description = String::new();
        for _ in 0..self.rng.random_range(2..=4) {
            let line = self.pick(kind.lines);
            description.push_str(line);
            description.push(' ');
        }
        description.push_str(&format!("근무지: {} {}.", area.city, area.district));
        let street = *self.pick(area.streets);
        let address = format!(
            "{} {} {} {}",
            area.city,
            area.district,
            street,
            self.rng.random_range(1..400)
        );
        // Within about 3 km of the area's centre.
        let lat = area.lat + self.rng.random_range(-0.027..0.027);
        let lng = area.lng + self.rng.random_range(-0.033..0.033);
        let starts_at =
            self.now + Duration::days(self.rng.random_range(1..30)) + Duration::hours(self.rng.random_range(0..12));
        let hours = self.rng.random_range(4..=9);
        let ends_at = starts_at + Duration::hours(hours);
        // The job service's default for these whole-hour spans: 30 minutes up to 8 h, 60 from 9 h.
        let break_minutes = if hours >= 9 { 60 } else { 30 };
        let hourly = self.rng.random_range(kind.wage.0..=kind.wage.1) / 10 * 10;
        let hourly = hourly.max(10_320);
        let wage = if self.rng.random_bool(0.7) {
            Wage {
                kind: WageKind::Hourly,
                amount: hourly,
            }
        } else {
            Wage {
                kind: WageKind::Daily,
                amount: hourly * hours,
            }
        };
        Posting {
            title,
            description: description.trim().to_owned(),
            category: kind.category.to_owned(),
            wage,
            location: Location { address, lat, lng },
            starts_at,
            ends_at,
            break_minutes,
            headcount: self.rng.random_range(1..=5),
        }
    }
}

impl Posting {
    /// The posting as the job service would publish it once created.
    pub fn into_job(self, id: String, employer_id: String, category_name: String) -> Job {
        let span_minutes = (self.ends_at - self.starts_at).whole_minutes();
        let paid_minutes = span_minutes - i64::from(self.break_minutes);
        let pay_per_worker = match self.wage.kind {
            WageKind::Hourly => self.wage.amount * paid_minutes / 60,
            WageKind::Daily => self.wage.amount,
        };
        let created_at = self.starts_at - Duration::days(1);
        Job {
            id,
            employer_id,
            title: self.title,
            description: self.description,
            category: self.category,
            category_name: Some(category_name),
            wage: self.wage,
            location: self.location,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            break_minutes: self.break_minutes,
            paid_minutes: paid_minutes as u32,
            headcount: self.headcount as u32,
            accepted_count: 0,
            pay_per_worker,
            status: JobStatus::Open,
            funded: false,
            created_at,
            updated_at: created_at,
        }
    }
}
