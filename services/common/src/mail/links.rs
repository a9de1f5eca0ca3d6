//! Links from a mail into the platform's web UI, built on the public base URL a service is
//! configured with (`users.public_base_url`, `notifications.public_base_url`).

/// The web UI's address, to build links in mails on.
#[derive(Debug, Clone)]
pub struct Links {
    base: String,
}

impl Links {
    pub fn new(public_base_url: &str) -> Self {
        Self {
            base: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The address of `page`, a path relative to the web UI's root (`""` for the root itself).
    pub fn page(&self, page: &str) -> String {
        format!("{}/{page}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hang_off_the_base_with_one_slash() {
        for base in ["https://oneday.example", "https://oneday.example/"] {
            let links = Links::new(base);
            assert_eq!(links.page("jobs/j1"), "https://oneday.example/jobs/j1");
            assert_eq!(links.page(""), "https://oneday.example/");
        }
    }
}
