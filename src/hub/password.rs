//! Room passwords: Argon2id hashes computed on the blocking pool, at most a few at a time, so a burst of
//! guesses cannot occupy the async workers or all the memory (each hash uses ~19 MiB). Behind them waits a
//! bounded queue; when it is full a check is refused at once (`RATE_LIMITED`) instead of making every honest
//! password check wait behind a flood.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::HubError;
use crate::domain::Password;
use crate::store::StoreError;

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Clone)]
pub struct Hasher {
    /// Hashes running now.
    permits: Arc<Semaphore>,
    /// Hashes running or waiting.
    admitted: Arc<Semaphore>,
    /// Verifications that ran Argon2 (observability: proves the attempt limits act before hashing).
    verified: Arc<AtomicU64>,
}

impl Hasher {
    /// At most `parallel` hashes run at once and `queue` more wait.
    pub fn with_queue(parallel: usize, queue: usize) -> Self {
        let parallel = parallel.max(1);
        Self {
            permits: Arc::new(Semaphore::new(parallel)),
            admitted: Arc::new(Semaphore::new(parallel + queue)),
            verified: Arc::default(),
        }
    }

    /// A place in the queue (or `RATE_LIMITED` now), then a turn to run.
    async fn turn(&self) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), HubError> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| HubError::busy())?;
        let running = self.permits.clone().acquire_owned().await.map_err(|_| HubError::busy())?;
        Ok((admitted, running))
    }

    /// An Argon2id PHC string (default OWASP parameters, random salt).
    pub async fn hash(&self, password: Password) -> Result<String, HubError> {
        let permit = self.turn().await?;
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

    /// How many verifications have run Argon2.
    pub fn verifications(&self) -> u64 {
        self.verified.load(Ordering::Relaxed)
    }

    /// Whether `password` matches `phc` (constant-time comparison inside `argon2`).
    pub async fn verify(&self, password: Password, phc: String) -> Result<bool, HubError> {
        let permit = self.turn().await?;
        let verified = self.verified.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verified.fetch_add(1, Ordering::Relaxed);
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
        let hasher = Hasher::with_queue(2, 16);
        let phc = hasher.hash(pw("비밀 #&+%")).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("비밀"));
        assert!(hasher.verify(pw("비밀 #&+%"), phc.clone()).await.unwrap());
        assert!(!hasher.verify(pw("비밀 #&+"), phc).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_frees_up_afterwards() {
        let hasher = Hasher::with_queue(1, 1);
        let phc = hasher.hash(pw("secret")).await.unwrap();
        // One check running and one waiting fill it.
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let (hasher, phc) = (hasher.clone(), phc.clone());
                tokio::spawn(async move { hasher.verify(pw("secret"), phc).await })
            })
            .collect();
        while hasher.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(hasher.verify(pw("secret"), phc.clone()).await, Err(HubError::RateLimited(_))));
        for b in busy {
            assert!(b.await.unwrap().unwrap(), "the admitted checks still complete");
        }
        // Positive control: with the queue drained, a check is admitted again.
        assert!(hasher.verify(pw("secret"), phc).await.unwrap());
    }
}
