//! Distances on the Earth: the haversine formula and the bounding box of a circle.

const EARTH_RADIUS_KM: f64 = 6371.0088;
const KM_PER_DEGREE: f64 = 111.32;

/// Great-circle distance in km between two points given in degrees.
pub fn haversine_km((lat1, lng1): (f64, f64), (lat2, lng2): (f64, f64)) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let (d_phi, d_lambda) = ((lat2 - lat1).to_radians(), (lng2 - lng1).to_radians());
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// The area within `radius_km` of a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    pub lat: f64,
    pub lng: f64,
    pub radius_km: f64,
}

impl Circle {
    pub fn contains(&self, point: (f64, f64)) -> bool {
        haversine_km((self.lat, self.lng), point) <= self.radius_km
    }

    /// `((south, west), (north, east))` of a box holding the circle, a little generous.
    pub fn bounding_box(&self) -> ((f64, f64), (f64, f64)) {
        let d_lat = self.radius_km / KM_PER_DEGREE * 1.01;
        let cos = self.lat.to_radians().cos().max(0.01);
        let d_lng = (self.radius_km / (KM_PER_DEGREE * cos) * 1.01).min(180.0);
        (
            (self.lat - d_lat, self.lng - d_lng),
            (self.lat + d_lat, self.lng + d_lng),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GANGNAM: (f64, f64) = (37.4979, 127.0276);
    const CITY_HALL: (f64, f64) = (37.5663, 126.9779);

    #[test]
    fn gangnam_to_city_hall_is_about_8_6_km() {
        let d = haversine_km(GANGNAM, CITY_HALL);
        assert!((8.4..8.9).contains(&d), "{d}");
    }

    #[test]
    fn the_box_holds_the_circle() {
        let circle = Circle {
            lat: GANGNAM.0,
            lng: GANGNAM.1,
            radius_km: 5.0,
        };
        let ((s, w), (n, e)) = circle.bounding_box();
        for bearing in 0..360 {
            let b = (bearing as f64).to_radians();
            // A point just inside the circle along each bearing.
            let lat = GANGNAM.0 + 4.99 / 111.2 * b.cos();
            let lng = GANGNAM.1 + 4.99 / (111.2 * GANGNAM.0.to_radians().cos()) * b.sin();
            if circle.contains((lat, lng)) {
                assert!((s..=n).contains(&lat) && (w..=e).contains(&lng), "bearing {bearing}");
            }
        }
    }
}
