//! Korean job search end to end: jobs posted through the job service become searchable through
//! the bus; the relevance set, geo filters, suggestions, reindexing and bad input.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, job_posting, problem, spawn_app, spawn_app_with, start, test_config, with};

/// (key, title, description, category, address, lat, lng)
type Fixture = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
);

const JOBS: &[Fixture] = &[
    (
        "cafe_gangnam",
        "카페 바리스타",
        "강남역 근처 카페에서 커피 제조와 음료 서빙을 담당합니다.",
        "food-cafe",
        "서울특별시 강남구 강남대로 396",
        37.4979,
        127.0276,
    ),
    (
        "starbucks_mapo",
        "스타벅스 바리스타 구합니다",
        "홍대입구역 매장입니다. 바리스타 경험자 우대.",
        "food-cafe",
        "서울특별시 마포구 양화로 160",
        37.5568,
        126.9237,
    ),
    (
        "logistics_icheon",
        "물류센터 상하차",
        "쿠팡 물류센터에서 택배 상하차 작업을 합니다.",
        "logistics",
        "경기도 이천시 마장면 덕이로 154",
        37.2350,
        127.3660,
    ),
    (
        "logistics_spaced",
        "물류 센터 분류 작업",
        "입고 상품 분류와 검수를 합니다.",
        "logistics",
        "인천광역시 서구 원창로 100",
        37.5200,
        126.6400,
    ),
    (
        "convenience_night",
        "편의점 야간 알바",
        "GS25 편의점 계산과 상품 진열을 합니다.",
        "retail",
        "서울특별시 관악구 관악로 1",
        37.4812,
        126.9527,
    ),
    (
        "event_concert",
        "콘서트 행사 스태프",
        "잠실 종합운동장 콘서트 관객 안내를 합니다.",
        "events",
        "서울특별시 송파구 올림픽로 25",
        37.5145,
        127.0737,
    ),
    (
        "office_data",
        "사무보조 데이터 입력",
        "엑셀 데이터 입력과 서류 정리를 합니다.",
        "office",
        "서울특별시 종로구 세종대로 209",
        37.5759,
        126.9769,
    ),
    (
        "cleaning_hotel",
        "호텔 객실 청소",
        "객실 침구 교체와 정리를 합니다.",
        "cleaning",
        "부산광역시 해운대구 해운대해변로 264",
        35.1587,
        129.1604,
    ),
    (
        "construction",
        "건설 현장 보조",
        "자재 운반과 현장 정리를 합니다. 안전화를 지참하세요.",
        "construction",
        "대전광역시 유성구 엑스포로 1",
        36.3755,
        127.3872,
    ),
    (
        "bakery",
        "베이커리 판매 및 포장",
        "파리바게뜨 빵 진열과 포장을 합니다.",
        "food-cafe",
        "경기도 성남시 분당구 황새울로 360",
        37.3827,
        127.1189,
    ),
    (
        "kitchen",
        "주방 보조 단기",
        "한식당 주방에서 재료를 손질하고 설거지를 합니다.",
        "food-cafe",
        "서울특별시 영등포구 여의대로 108",
        37.5259,
        126.9255,
    ),
    (
        "delivery",
        "배달 라이더 모집",
        "오토바이 배달입니다. 면허가 필요합니다.",
        "logistics",
        "서울특별시 성동구 왕십리로 83",
        37.5446,
        127.0557,
    ),
    (
        "moving",
        "이사 보조",
        "가구 운반과 포장을 돕습니다.",
        "etc",
        "대구광역시 중구 동성로 1",
        35.8693,
        128.5962,
    ),
    (
        "survey",
        "설문 조사 요원",
        "길거리에서 설문 조사를 진행합니다.",
        "etc",
        "광주광역시 서구 상무대로 1",
        35.1520,
        126.8895,
    ),
    (
        "wedding",
        "웨딩홀 서빙 스태프",
        "주말 웨딩홀 하객 식사를 서빙합니다.",
        "events",
        "서울특별시 강남구 논현로 645",
        37.5110,
        127.0220,
    ),
    (
        "cafe_jeju",
        "제주 카페 알바",
        "바다 앞 카페에서 음료를 만듭니다.",
        "food-cafe",
        "제주특별자치도 제주시 애월읍 애월해안로 272",
        33.4630,
        126.3096,
    ),
    (
        "english_cafe",
        "Cafe staff (English speaking)",
        "Serve coffee to foreign customers at our cafe in Itaewon.",
        "food-cafe",
        "서울특별시 용산구 이태원로 200",
        37.5345,
        126.9946,
    ),
    (
        "warehouse",
        "창고 입출고 관리",
        "물류 창고의 재고 관리와 입출고를 담당합니다.",
        "logistics",
        "경기도 고양시 일산동구 중앙로 1275",
        37.6584,
        126.7700,
    ),
    (
        "cosmetics",
        "올리브영 매장 판매",
        "화장품 진열과 고객 응대를 합니다.",
        "retail",
        "서울특별시 마포구 양화로 153",
        37.5563,
        126.9220,
    ),
    (
        "exhibition",
        "코엑스 박람회 안내 요원",
        "박람회 관람객 안내와 등록 데스크를 맡습니다.",
        "events",
        "서울특별시 강남구 영동대로 513",
        37.5116,
        127.0592,
    ),
    (
        "dog",
        "반려견 산책 도우미",
        "강아지 산책과 돌봄을 합니다.",
        "etc",
        "서울특별시 송파구 송파대로 345",
        37.5050,
        127.1100,
    ),
    (
        "scan",
        "문서 스캔 작업",
        "오래된 서류를 스캔하고 파일을 정리합니다.",
        "office",
        "경기도 수원시 팔달구 정조로 825",
        37.2664,
        127.0286,
    ),
    (
        "cleaning_office",
        "사무실 청소",
        "판교 사무실 바닥 청소와 분리수거를 합니다.",
        "cleaning",
        "경기도 성남시 분당구 판교역로 235",
        37.4020,
        127.1086,
    ),
    (
        "mart",
        "마트 진열 보조",
        "이마트 식품 코너에서 상품을 진열합니다.",
        "retail",
        "서울특별시 성동구 왕십리로 410",
        37.5612,
        127.0370,
    ),
    (
        "dawn_delivery",
        "새벽 배송 분류",
        "새벽배송 상품을 분류합니다.",
        "logistics",
        "경기도 김포시 고촌읍 아라육로 152",
        37.6020,
        126.7700,
    ),
    (
        "parcel_dawn",
        "택배 분류 파트",
        "택배 상자를 지역별로 분류합니다.",
        "logistics",
        "경기도 군포시 엘에스로 45",
        37.3477,
        126.9468,
    ),
    (
        "restaurant_hall",
        "고깃집 홀 서빙",
        "고깃집 홀에서 주문을 받고 음식을 나릅니다.",
        "food-cafe",
        "서울특별시 마포구 와우산로 94",
        37.5510,
        126.9250,
    ),
    (
        "flyer",
        "전단지 배포",
        "아파트 단지에 전단지를 배포합니다. 당일 지급.",
        "etc",
        "서울특별시 노원구 동일로 1414",
        37.6560,
        127.0610,
    ),
    (
        "easy_parking",
        "주차장 매표소 근무",
        "앉아서 주차권을 확인하는 편한 일입니다.",
        "etc",
        "서울특별시 송파구 올림픽로 300",
        37.5126,
        127.1025,
    ),
    (
        "fastfood",
        "패스트푸드 매장 크루",
        "햄버거 조리와 카운터 주문을 받습니다.",
        "food-cafe",
        "서울특별시 노원구 상계로 70",
        37.6550,
        127.0630,
    ),
    (
        "cake",
        "케이크 포장 보조",
        "크리스마스 케이크 상자 포장을 돕습니다.",
        "food-cafe",
        "서울특별시 서초구 서초대로 411",
        37.4990,
        127.0260,
    ),
    (
        "waiter",
        "레스토랑 웨이터",
        "이탈리안 레스토랑에서 주문을 받고 서빙합니다.",
        "food-cafe",
        "서울특별시 용산구 한남대로 91",
        37.5340,
        127.0060,
    ),
    (
        "pack_morning",
        "쇼핑몰 상품 포장",
        "온라인 쇼핑몰 주문 상품을 포장합니다.",
        "logistics",
        "경기도 부천시 소사구 경인로 100",
        37.4830,
        126.7950,
    ),
    (
        "pack_evening",
        "쇼핑몰 주문 포장",
        "온라인 쇼핑몰 주문 상품을 상자에 담아 포장합니다.",
        "logistics",
        "경기도 부천시 오정구 소사로 200",
        37.5050,
        126.7900,
    ),
    (
        "mart_tasting",
        "마트 시식 행사",
        "대형마트 식품 코너에서 시식을 진행합니다.",
        "retail",
        "서울특별시 강서구 공항대로 200",
        37.5590,
        126.8350,
    ),
    (
        "interior",
        "인테리어 철거 보조",
        "인테리어 공사 현장에서 철거 자재를 나릅니다.",
        "construction",
        "서울특별시 은평구 통일로 800",
        37.6100,
        126.9290,
    ),
    (
        "cheonan_factory",
        "공장 생산 보조",
        "자동차 부품 검사와 포장을 합니다.",
        "etc",
        "충청남도 천안시 서북구 번영로 156",
        36.8150,
        127.1140,
    ),
    (
        "night_cleaning",
        "빌딩 야간 청소",
        "업무가 끝난 사무실 빌딩의 바닥과 화장실을 청소합니다.",
        "cleaning",
        "서울특별시 중구 을지로 100",
        37.5660,
        126.9910,
    ),
    (
        "weekend_cafe",
        "주말 브런치 카페 서빙",
        "토요일과 일요일에 브런치 카페 홀에서 서빙합니다.",
        "food-cafe",
        "서울특별시 성동구 서울숲길 17",
        37.5446,
        127.0410,
    ),
    (
        "dawn_bakery",
        "제빵 공장 보조",
        "새벽에 빵 반죽과 굽기를 돕습니다.",
        "etc",
        "서울특별시 강서구 화곡로 300",
        37.5410,
        126.8400,
    ),
    (
        "daily_logistics",
        "물류센터 일용직 분류",
        "상품 분류 작업입니다. 일당제로 일합니다.",
        "logistics",
        "경기도 용인시 처인구 백옥대로 1",
        37.2340,
        127.2010,
    ),
    (
        "tutor",
        "영어 학원 채점 보조",
        "초등 영어 학원에서 시험지를 채점합니다.",
        "office",
        "서울특별시 서초구 반포대로 100",
        37.4950,
        127.0100,
    ),
    (
        "evening_pub",
        "호프집 저녁 서빙",
        "퇴근 시간 호프집 홀에서 주문을 받고 서빙합니다.",
        "food-cafe",
        "서울특별시 마포구 어울마당로 100",
        37.5530,
        126.9220,
    ),
];

/// When a posting starts, in Korea: (key, hour, on a weekend). Others start at 10:00 on the
/// day their position in `JOBS` gives, whatever weekday that is.
const SCHEDULES: &[(&str, u8, bool)] = &[
    ("parcel_dawn", 4, false),
    ("dawn_delivery", 4, false),
    ("restaurant_hall", 17, false),
    ("flyer", 9, false),
    ("easy_parking", 14, false),
    ("fastfood", 11, false),
    ("cake", 13, false),
    ("waiter", 18, false),
    ("pack_morning", 9, false),
    ("pack_evening", 20, false),
    ("mart_tasting", 11, true),
    ("mart", 10, false),
    ("interior", 8, false),
    ("cheonan_factory", 8, false),
    ("cafe_jeju", 14, false),
    ("convenience_night", 22, false),
    ("wedding", 11, true),
    ("cleaning_office", 7, true),
    ("cleaning_hotel", 10, false),
    ("bakery", 10, false),
    ("night_cleaning", 19, false),
    ("weekend_cafe", 9, true),
    ("dawn_bakery", 5, false),
    ("daily_logistics", 9, false),
    ("tutor", 15, false),
    ("evening_pub", 18, false),
];

/// Wages other than 12,000 won an hour: (key, `hourly` or `daily`, won).
const WAGES: &[(&str, &str, i64)] = &[
    ("construction", "daily", 150_000),
    ("interior", "daily", 130_000),
    ("moving", "daily", 120_000),
    ("flyer", "daily", 70_000),
    ("exhibition", "hourly", 16_000),
    ("english_cafe", "hourly", 15_000),
    ("daily_logistics", "daily", 80_000),
    ("tutor", "hourly", 18_000),
    ("evening_pub", "hourly", 13_000),
];

/// Query → keys that must be in its top 5.
const RELEVANCE: &[(&str, &[&str])] = &[
    ("카페", &["cafe_gangnam", "cafe_jeju"]),
    ("카페에서 일할 사람", &["cafe_gangnam"]),
    ("바리스타", &["cafe_gangnam", "starbucks_mapo"]),
    ("바리스타를 구합니다", &["starbucks_mapo"]),
    ("물류센터", &["logistics_icheon", "logistics_spaced"]),
    ("물류 센터", &["logistics_icheon", "logistics_spaced"]),
    ("상하차", &["logistics_icheon"]),
    ("편의점", &["convenience_night"]),
    ("편의점에서", &["convenience_night"]),
    ("야간 알바", &["convenience_night"]),
    ("콘서트", &["event_concert"]),
    ("행사 스태프", &["event_concert"]),
    ("데이터 입력", &["office_data"]),
    ("사무보조", &["office_data"]),
    ("호텔 청소", &["cleaning_hotel"]),
    ("청소", &["cleaning_hotel", "cleaning_office"]),
    ("건설 현장", &["construction"]),
    ("빵", &["bakery"]),
    ("주방", &["kitchen"]),
    ("배달", &["delivery"]),
    ("이사", &["moving"]),
    ("설문조사", &["survey"]),
    ("웨딩홀", &["wedding"]),
    ("cafe", &["english_cafe", "cafe_gangnam"]),
    ("CAFE", &["english_cafe"]),
    ("coffee", &["english_cafe"]),
    ("barista", &["cafe_gangnam"]),
    ("창고", &["warehouse"]),
    ("화장품", &["cosmetics"]),
    ("박람회", &["exhibition"]),
    ("강아지", &["dog"]),
    ("스캔", &["scan"]),
    ("분리수거", &["cleaning_office"]),
    ("진열", &["mart"]),
    ("새벽배송", &["dawn_delivery"]),
    ("바리스터", &["cafe_gangnam", "starbucks_mapo"]),
    ("편의졈", &["convenience_night"]),
    ("coffe", &["english_cafe"]),
    ("강남", &["cafe_gangnam"]),
    ("해운대", &["cleaning_hotel"]),
    ("제주", &["cafe_jeju"]),
    ("판교", &["cleaning_office"]),
    ("마포구 카페", &["starbucks_mapo"]),
    ("홍대", &["starbucks_mapo"]),
    ("잠실", &["event_concert"]),
    ("이태원", &["english_cafe"]),
];

struct Seeded {
    app: TestApp,
    ids: HashMap<&'static str, String>,
    employer: String,
}

/// The fixture as a five-hour job at 12,000 won an hour, starting in `starts_in_days`.
fn posting(fixture: &Fixture, starts_in_days: i64) -> Value {
    let (key, title, description, category, address, lat, lng) = *fixture;
    let kst = time::macros::offset!(+9);
    let mut day = (time::OffsetDateTime::now_utc().to_offset(kst) + time::Duration::days(starts_in_days)).date();
    let mut hour = 10;
    if let Some(&(_, at, weekend)) = SCHEDULES.iter().find(|s| s.0 == key) {
        hour = at;
        let is_weekend = |d: time::Date| matches!(d.weekday(), time::Weekday::Saturday | time::Weekday::Sunday);
        while is_weekend(day) != weekend {
            day = day.next_day().unwrap();
        }
    }
    let starts = day.with_hms(hour, 0, 0).unwrap().assume_offset(kst);
    let (kind, amount) = WAGES
        .iter()
        .find(|w| w.0 == key)
        .map_or(("hourly", 12_000), |&(_, kind, amount)| (kind, amount));
    with(
        job_posting(starts, time::Duration::hours(5)),
        json!({
            "title": title, "description": description, "category": category,
            "wage": { "type": kind, "amount": amount },
            "location": { "address": address, "lat": lat, "lng": lng },
        }),
    )
}

/// Waits until `path` answers with `total == expected`, for at most 5 s.
async fn wait_for_total(app: &TestApp, path: &str, expected: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let body: Value = app.get(path).await.json().await.unwrap();
        if body["total"] == expected || Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn seeded() -> Seeded {
    seeded_with(|_| {}).await
}

/// [`seeded`] on an app whose configuration `adjust` changes first. The relevance sets send
/// hundreds of queries from one address: the gateway's rate limit is off.
async fn seeded_with(adjust: impl FnOnce(&mut onetime::config::Config)) -> Seeded {
    let app = spawn_app_with(|config| {
        config.gateway.rate_limit.enabled = false;
        adjust(config);
    })
    .await;
    let employer = app.signup("employer").await.token;
    let mut ids = HashMap::new();
    for (i, fixture) in JOBS.iter().enumerate() {
        let response = app
            .post_json_as("/jobs", &employer, &posting(fixture, 1 + i as i64))
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let job: Value = response.json().await.unwrap();
        ids.insert(fixture.0, job["id"].as_str().unwrap().to_owned());
    }
    let all = wait_for_total(&app, "/search/jobs?limit=1", JOBS.len() as u64).await;
    assert_eq!(all["total"], JOBS.len() as u64, "every posted job is indexed");
    Seeded { app, ids, employer }
}

async fn top_ids(app: &TestApp, query: &str) -> Vec<String> {
    let url = format!("/search/jobs?limit=5&q={}", urlencode(query));
    let body: Value = app.get(&url).await.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn the_relevance_set_finds_what_a_person_means() {
    let Seeded { app, ids, .. } = seeded().await;
    let mut misses = Vec::new();
    for (query, expected) in RELEVANCE {
        let top = top_ids(&app, query).await;
        for key in *expected {
            if !top.contains(&ids[key]) {
                let names: Vec<_> = top
                    .iter()
                    .map(|id| ids.iter().find(|(_, v)| *v == id).unwrap().0)
                    .collect();
                misses.push(format!("{query:?} should find {key} in its top 5, found {names:?}"));
            }
        }
    }
    assert!(RELEVANCE.len() >= 40);
    assert!(misses.is_empty(), "{} misses:\n{}", misses.len(), misses.join("\n"));
}

/// The phone-typed relevance set: (kind, query, key of the posting that must rank first).
const PHONE_SET: &str = include_str!("../../services/search/relevance/phone.tsv");

/// Lowest accepted figures, per kind and overall (`all`): (kind, top-1, top-5, MRR). They only
/// go up: raise them with every improvement (figures per kind in
/// services/search/relevance/README.md). Each is the measured figure rounded down (a figure that
/// is exactly a hundredth sits one hundredth under it, against floating-point error); 1.0 is
/// exact.
const PHONE_THRESHOLDS: &[(&str, f64, f64, f64)] = &[
    ("synonym", 0.96, 1.0, 0.98),
    ("spacing", 1.0, 1.0, 1.0),
    ("misspelling", 1.0, 1.0, 1.0),
    ("jamo", 0.76, 1.0, 0.87),
    ("romanized", 1.0, 1.0, 1.0),
    ("initials", 1.0, 1.0, 1.0),
    ("time", 0.87, 1.0, 0.93),
    ("wage", 0.77, 1.0, 0.88),
    ("region", 1.0, 1.0, 1.0),
    ("question", 1.0, 1.0, 1.0),
    ("all", 0.92, 1.0, 0.96),
];

/// Top-1, top-5 and mean reciprocal rank (within the first 20) of a list of ranks.
fn figures(ranks: &[Option<usize>]) -> (f64, f64, f64) {
    let n = ranks.len().max(1) as f64;
    let share = |within: usize| ranks.iter().filter(|r| r.is_some_and(|r| r <= within)).count() as f64 / n;
    let mrr = ranks.iter().map(|r| r.map_or(0.0, |r| 1.0 / r as f64)).sum::<f64>() / n;
    (share(1), share(5), mrr)
}

#[tokio::test]
async fn phone_typed_queries_rank_the_best_job_first() {
    let Seeded { app, ids, .. } = seeded().await;
    let mut by_kind: Vec<(&str, Vec<Option<usize>>)> = Vec::new();
    let mut misses = Vec::new();
    for line in PHONE_SET
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let [kind, query, key] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("a relevance line has three columns: {line:?}");
        };
        let url = format!("/search/jobs?limit=20&q={}", urlencode(query));
        let body: Value = app.get(&url).await.json().await.unwrap();
        let found: Vec<&str> = body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{query:?} is answered with a list: {body}"))
            .iter()
            .map(|item| item["id"].as_str().unwrap())
            .collect();
        let rank = found.iter().position(|id| *id == ids[key]).map(|i| i + 1);
        if rank != Some(1) {
            let first = found
                .first()
                .and_then(|id| ids.iter().find(|(_, v)| v == id))
                .map(|(k, _)| *k);
            misses.push(format!("{kind}\t{query}\t{key} at {rank:?}, first {first:?}"));
        }
        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, ranks)) => ranks.push(rank),
            None => by_kind.push((kind, vec![rank])),
        }
    }
    let all: Vec<Option<usize>> = by_kind.iter().flat_map(|(_, r)| r.clone()).collect();
    by_kind.push(("all", all));
    let mut failures = Vec::new();
    for (kind, ranks) in &by_kind {
        let (top1, top5, mrr) = figures(ranks);
        println!(
            "{kind:12} n={:3} top1={top1:.2} top5={top5:.2} mrr={mrr:.2}",
            ranks.len()
        );
        if let Some(&(_, min1, min5, min_mrr)) = PHONE_THRESHOLDS.iter().find(|t| t.0 == *kind)
            && (top1 < min1 || top5 < min5 || mrr < min_mrr)
        {
            failures.push(format!(
                "{kind}: {top1:.2}/{top5:.2}/{mrr:.2} below {min1}/{min5}/{min_mrr}"
            ));
        }
    }
    println!("misses:\n{}", misses.join("\n"));
    assert!(by_kind.len() >= 11, "every kind of query has its set");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_synonym_added_by_configuration_finds_a_job_it_did_not() {
    let Seeded { app, ids, .. } = seeded().await;
    assert!(
        !top_ids(&app, "펫시터").await.contains(&ids["dog"]),
        "the built-in dictionaries do not know 펫시터"
    );
    drop(app);

    let dictionaries = tempfile::tempdir().unwrap();
    let synonyms = "# Our own words\n펫시터\t반려견,강아지 산책\n";
    std::fs::write(dictionaries.path().join("synonyms.tsv"), synonyms).unwrap();
    let Seeded { app, ids, .. } = seeded_with(|c| c.set("search.dictionary_dir", dictionaries.path())).await;
    let found = top_ids(&app, "펫시터").await;
    assert_eq!(found.first(), Some(&ids["dog"]), "{found:?}");
    // The built-in entries stay.
    assert_eq!(top_ids(&app, "노가다").await.first(), Some(&ids["construction"]));
}

#[tokio::test]
async fn a_malformed_dictionary_file_stops_start_up_with_its_line() {
    let data_dir = tempfile::tempdir().unwrap();
    let dictionaries = tempfile::tempdir().unwrap();
    let file = dictionaries.path().join("brands.tsv");
    std::fs::write(&file, "이디야\t카페\n메가커피 카페\n").unwrap();
    let mut config = test_config(&data_dir);
    config.set("search.dictionary_dir", dictionaries.path());
    let error = onetime::startup::Application::build(config)
        .await
        .err()
        .expect("refused");
    let said = format!("{error:#}");
    assert!(
        said.contains("search.dictionary_dir") && said.contains(&format!("{} line 2", file.display())),
        "{said}"
    );
}

#[tokio::test]
async fn results_carry_highlights_facets_and_paging() {
    let Seeded { app, .. } = seeded().await;
    let body: Value = app.get("/search/jobs?q=카페&limit=2").await.json().await.unwrap();
    let first = &body["items"][0];
    let highlighted = |field: &str| {
        first["highlights"][field]
            .as_str()
            .unwrap_or_default()
            .contains("<b>카페</b>")
    };
    assert!(highlighted("title") || highlighted("description"), "{first}");
    assert!(first["wage"]["amount"].is_i64() && first["status"] == "open");
    assert!(body["facets"]["category"]["food-cafe"].as_u64().unwrap() >= 3);
    assert!(body["tookMs"].is_number());
    let next = body["nextCursor"].as_str().expect("another page");
    let second: Value = app
        .get(&format!("/search/jobs?q=카페&limit=2&cursor={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(second["items"][0]["id"], body["items"][0]["id"]);

    let filtered: Value = app
        .get("/search/jobs?q=카페&category=food-cafe")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        filtered["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["category"] == "food-cafe")
    );
    let unfiltered: Value = app.get("/search/jobs?q=카페").await.json().await.unwrap();
    assert_eq!(
        filtered["facets"], unfiltered["facets"],
        "facets leave the category filter out"
    );
}

const GANGNAM_STATION: (f64, f64) = (37.4979, 127.0276);

#[tokio::test]
async fn a_radius_around_gangnam_station_keeps_near_jobs_in_distance_order() {
    let Seeded { app, ids, .. } = seeded().await;
    let (lat, lng) = GANGNAM_STATION;
    let url = format!("/search/jobs?lat={lat}&lng={lng}&radiusKm=5&sort=distance&limit=100");
    let body: Value = app.get(&url).await.json().await.unwrap();
    let found: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    for near in ["cafe_gangnam", "wedding", "exhibition"] {
        assert!(found.contains(&ids[near].as_str()), "{near} is within 5 km of 강남역");
    }
    for far in ["starbucks_mapo", "cleaning_hotel", "cafe_jeju", "logistics_icheon"] {
        assert!(!found.contains(&ids[far].as_str()), "{far} is not");
    }
    let distances: Vec<f64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["distanceKm"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(distances[0] < 0.1 && distances.iter().all(|d| *d <= 5.0));
    assert_eq!(body["total"], found.len());
}

#[tokio::test]
async fn filters_by_wage_and_start_date() {
    let Seeded { app, ids, employer } = seeded().await;
    let mut well_paid = posting(&JOBS[0], 3);
    well_paid["title"] = json!("고급 레스토랑 서빙");
    well_paid["wage"] = json!({ "type": "hourly", "amount": 30000 });
    let created: Value = app
        .post_json_as("/jobs", &employer, &well_paid)
        .await
        .json()
        .await
        .unwrap();
    // With the fixture's construction, interior and moving jobs (daily wages of 26,666 won an
    // hour and more); the newest first.
    let body = wait_for_total(&app, "/search/jobs?minWage=20000", 4).await;
    assert_eq!(body["total"], 4, "{body}");
    assert_eq!(body["items"][0]["id"], created["id"]);

    // A daily wage counts per paid hour, as the minimum-wage check does: 240,000 won for 9 h
    // less the 60-minute break is 30,000 an hour (over the whole span it would be 26,666).
    let mut daily = posting(&JOBS[1], 4);
    let starts = time::OffsetDateTime::parse(
        daily["startsAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    daily["endsAt"] = json!(crate::helpers::rfc3339(starts + time::Duration::hours(9)));
    daily["wage"] = json!({ "type": "daily", "amount": 240_000 });
    let response = app.post_json_as("/jobs", &employer, &daily).await;
    assert_eq!(response.status(), 201);
    let daily: Value = response.json().await.unwrap();
    assert_eq!(daily["paidMinutes"], 480);
    // The fixture's construction job pays 150,000 a day for 4 h 30 paid: 33,333 an hour.
    let construction = json!(ids["construction"]);
    let body = wait_for_total(&app, "/search/jobs?minWage=30000", 3).await;
    let mut found: Vec<&Value> = body["items"].as_array().unwrap().iter().map(|i| &i["id"]).collect();
    found.sort_by_key(|id| id.as_str());
    let mut expected = vec![&created["id"], &daily["id"], &construction];
    expected.sort_by_key(|id| id.as_str());
    assert_eq!(found, expected, "{body}");
    let body = wait_for_total(&app, "/search/jobs?minWage=30001", 1).await;
    assert_eq!(body["items"][0]["id"], construction, "{body}");
    assert_eq!(wait_for_total(&app, "/search/jobs?minWage=33334", 0).await["total"], 0);

    let day = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .to_offset(time::macros::offset!(+9))
        .date();
    let body: Value = app
        .get(&format!("/search/jobs?from={day}&to={day}&limit=100"))
        .await
        .json()
        .await
        .unwrap();
    let found: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(
        found.contains(&ids["cafe_gangnam"].as_str()),
        "the job starting tomorrow: {body}"
    );
    assert!(found.len() < JOBS.len());
}

#[tokio::test]
async fn suggestions_complete_prefixes_partial_syllables_and_initials() {
    let Seeded { app, .. } = seeded().await;
    for typed in ["바리", "바리스", "발", "ㅂㄹㅅㅌ"] {
        let body: Value = app
            .get(&format!("/search/suggestions?q={}", urlencode(typed)))
            .await
            .json()
            .await
            .unwrap();
        let suggestions: Vec<&str> = body["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(suggestions.contains(&"바리스타"), "{typed}: {suggestions:?}");
    }
    let body: Value = app.get("/search/suggestions?q=").await.json().await.unwrap();
    assert_eq!(body["suggestions"], json!([]));
}

#[tokio::test]
async fn closed_and_cancelled_jobs_leave_the_index() {
    let Seeded { app, ids, employer } = seeded().await;
    let response = app.delete_as(&format!("/jobs/{}", ids["moving"]), &employer).await;
    assert_eq!(response.status(), 204);
    let body = wait_for_total(&app, "/search/jobs?q=이사", 0).await;
    assert_eq!(body["total"], 0, "a cancelled job is not searchable: {body}");
}

#[tokio::test]
async fn a_new_job_is_searchable_within_a_second() {
    let app = spawn_app().await;
    let employer = app.signup("employer").await.token;
    let posted = Instant::now();
    let response = app.post_json_as("/jobs", &employer, &posting(&JOBS[0], 1)).await;
    assert_eq!(response.status(), 201);
    let body = wait_for_total(&app, "/search/jobs?q=바리스타", 1).await;
    assert_eq!(body["total"], 1);
    assert!(posted.elapsed() < Duration::from_secs(1), "took {:?}", posted.elapsed());
}

#[tokio::test]
async fn reindex_rebuilds_while_search_answers() {
    let Seeded { app, .. } = seeded().await;
    let admin = app.admin().await.token;
    let worker = app.signup("worker").await.token;
    assert_eq!(
        app.client
            .post(app.url("/search/reindex"))
            .bearer_auth(&worker)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.client
            .post(app.url("/search/reindex"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let response = app
        .client
        .post(app.url("/search/reindex"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let task_id = response.json::<Value>().await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let task = loop {
        let during: Value = app.get("/search/jobs?q=카페").await.json().await.unwrap();
        assert!(during["total"].as_u64().unwrap() >= 1, "search keeps answering");
        let task: Value = app
            .get_as(&format!("/search/reindex/{task_id}"), &admin)
            .await
            .json()
            .await
            .unwrap();
        if task["state"] != "running" || Instant::now() > deadline {
            break task;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(task["state"], "done", "{task}");
    assert_eq!(task["indexed"], JOBS.len());
    let after: Value = app.get("/search/jobs?limit=1").await.json().await.unwrap();
    assert_eq!(after["total"], JOBS.len());
    assert_eq!(app.get_as("/search/reindex/nope", &admin).await.status(), 404);
}

#[tokio::test]
async fn after_a_restart_without_its_index_ready_means_every_job_is_searchable_again() {
    const COUNT: usize = 500;
    let app = spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        c.bus.prune_interval_seconds = 1;
    })
    .await;
    let employer = app.signup("employer").await.token;
    for i in 0..COUNT {
        let posting = posting(&JOBS[i % JOBS.len()], 1 + (i % 30) as i64);
        let response = app.post_json_as("/jobs", &employer, &posting).await;
        assert_eq!(response.status(), 201);
    }
    let all = wait_for_total(&app, "/search/jobs?limit=1", COUNT as u64).await;
    assert_eq!(all["total"], COUNT);
    // Once the outbox is pruned, the events cannot rebuild the index: only the job service can.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (config, data_dir) = app.stop().await;

    // A lost (or outdated) index is rebuilt from the job service at start-up.
    std::fs::remove_dir_all(data_dir.path().join("search")).unwrap();
    let app = start(config, data_dir).await;
    // `start` returns once /ready answers 200: no waiting here.
    let now: Value = app.get("/search/jobs?limit=1").await.json().await.unwrap();
    assert_eq!(now["total"], COUNT, "ready before the rebuild finished");
}

#[tokio::test]
async fn bad_input_is_refused_or_answered_sanely() {
    let Seeded { app, .. } = seeded().await;
    for path in [
        "/search/jobs?lat=NaN&lng=127",
        "/search/jobs?lat=37.5&lng=127&radiusKm=-3",
        "/search/jobs?radiusKm=3",
        "/search/jobs?sort=distance",
        "/search/jobs?limit=0",
        "/search/jobs?limit=abc",
        "/search/jobs?cursor=garbage!",
        "/search/jobs?from=yesterday",
        &format!("/search/jobs?q={}", "가".repeat(500)),
    ] {
        let response = app.get(path).await;
        assert!(response.status().is_client_error(), "{path}: {}", response.status());
        problem(response).await;
    }
    for q in [
        "\"unbalanced",
        "title:카페",
        "(카페 OR",
        "*",
        "카페 AND -바리스타",
        "~!@#$%^&*()",
        "에서",
        " ",
    ] {
        let response = app.get(&format!("/search/jobs?q={}", urlencode(q))).await;
        assert_eq!(response.status(), 200, "{q}");
        let body: Value = response.json().await.unwrap();
        assert!(body["items"].is_array(), "{q}: {body}");
    }
}

/// Every id a paged list answers, following `nextCursor`.
async fn all_ids(client: &reqwest::Client, first_url: &str) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    let mut url = first_url.to_owned();
    for _ in 0..1000 {
        let body: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
        ids.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match body["nextCursor"].as_str() {
            Some(cursor) => url = format!("{first_url}&cursor={cursor}"),
            None => break,
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_mid_stream_the_index_holds_exactly_the_open_jobs() {
    use crate::process::{Server, onetime};
    const SECRET: &str = "crash-test-secret-crash-test-secret-0001";
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut command = onetime(dir.path());
        command.env("ONETIME_AUTH__JWT_SECRET", SECRET);
        // A fixture: the employer's address is never verified (its mail goes to a file).
        command.env("ONETIME_USERS__REQUIRE_VERIFIED_EMAIL", "false");
        Server::start(&mut command)
    };
    let client = reqwest::Client::new();

    let mut server = start();
    let registered: Value = client
        .post(format!("{}/auth/register", server.url))
        .json(&json!({ "email": "crash@example.com", "password": "correct horse 7", "name": "김원데", "role": "employer" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let employer = registered["accessToken"].as_str().unwrap().to_owned();
    let created = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..6 {
        let (client, url, employer, created) = (client.clone(), server.url.clone(), employer.clone(), created.clone());
        writers.spawn(async move {
            for n in 0..200 {
                let body = posting(&JOBS[(writer * 7 + n) % JOBS.len()], 1);
                match client
                    .post(format!("{url}/jobs"))
                    .bearer_auth(&employer)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(response) if response.status() == 201 => {
                        created.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => return,
                }
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while created.load(std::sync::atomic::Ordering::SeqCst) < 60 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    while writers.join_next().await.is_some() {}
    assert!(
        created.load(std::sync::atomic::Ordering::SeqCst) >= 60,
        "jobs were streaming when the kill came"
    );

    let server = start();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health: Value = client
            .get(format!("{}/health", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let lag: u64 = health["services"]["search"]["bus"].as_array().map_or(1, |lanes| {
            lanes.iter().map(|lane| lane["lag"].as_u64().unwrap_or(1)).sum()
        });
        if lag == 0
            && client
                .get(format!("{}/ready", server.url))
                .send()
                .await
                .unwrap()
                .status()
                == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "the index never caught up: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let open = all_ids(&client, &format!("{}/jobs?status=open&limit=100", server.url)).await;
    let indexed = all_ids(&client, &format!("{}/search/jobs?limit=100", server.url)).await;
    assert!(open.len() >= 60);
    assert_eq!(indexed, open, "the index holds exactly the open jobs of the job store");
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_jobs_and_their_index() {
    let Seeded { app, .. } = seeded().await;
    let target = tempfile::tempdir().unwrap();
    let backup_dir = target.path().join("backup");
    let files = onetime::backup::run(&app.config, &backup_dir).await.expect("backup");
    assert!(files.iter().any(|f| f.ends_with("jobs.redb")));
    let config = app.config.clone();
    drop(app.stop().await);

    let mut restored_config = config;
    restored_config.data_dir = backup_dir;
    let restored = crate::helpers::start(restored_config, target).await;
    let jobs: Value = restored.get("/jobs?limit=100").await.json().await.unwrap();
    assert_eq!(jobs["items"].as_array().unwrap().len(), JOBS.len());
    let found: Value = restored.get("/search/jobs?q=바리스타").await.json().await.unwrap();
    assert_eq!(found["total"], 2, "the index came back with the stores: {found}");
}
