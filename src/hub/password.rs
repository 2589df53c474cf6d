//! Room passwords: Argon2id hashes computed on the blocking pool, at most a few at a time, so a burst of
//! guesses cannot occupy the async workers or all the memory (each hash uses ~19 MiB).

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

use super::HubError;
use crate::domain::Password;
use crate::store::StoreError;

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Hasher {
    /// At most `parallel` hashes run at once; the rest wait their turn.
    pub fn new(parallel: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(parallel.max(1))) }
    }

    /// An Argon2id PHC string (default OWASP parameters, random salt).
    pub async fn hash(&self, password: Password) -> Result<String, HubError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| HubError::RateLimited)?;
        tokio::task::spawn_blocking(move || {
            // The permit lives inside the blocking task, so the bound holds even if the caller goes away.
            let _permit = permit;
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default().hash_password(password.expose().as_bytes(), &salt).map(|h| h.to_string())
        })
        .await
        .map_err(|e| HubError::from(StoreError::Backend(format!("hashing task: {e}"))))?
        .map_err(|_| HubError::invalid("BAD_INPUT", "the password cannot be used"))
    }

    /// Whether `password` matches `phc` (constant-time comparison inside `argon2`).
    pub async fn verify(&self, password: Password, phc: String) -> Result<bool, HubError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| HubError::RateLimited)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let Ok(parsed) = PasswordHash::new(&phc) else { return false };
            Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok()
        })
        .await
        .map_err(|e| HubError::from(StoreError::Backend(format!("verifying task: {e}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse_optional(Some(s)).unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_and_verifies_only_the_right_password() {
        let hasher = Hasher::new(2);
        let phc = hasher.hash(pw("비밀 #&+%")).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("비밀"));
        assert!(hasher.verify(pw("비밀 #&+%"), phc.clone()).await.unwrap());
        assert!(!hasher.verify(pw("비밀 #&+"), phc).await.unwrap());
    }
}
