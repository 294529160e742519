//! The key pairs an emulator accepts: a set shared with the code that
//! changes it while the emulator runs, each key with an optional expiry,
//! optionally read from a file and read again when the file changes.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::EmulatorError;
use crate::sigv4::{CredentialStore, Credentials};

/// How long an expired key stays in the set (answered with
/// `ExpiredTokenException`) before an insertion drops it.
const EXPIRED_KEPT: Duration = Duration::from_secs(3600);

/// The key pairs an emulator accepts, shared and changeable while it runs
/// ([`EmulatorBuilder::key_store`](super::EmulatorBuilder::key_store),
/// [`EmulatorHandle::keys`](super::EmulatorHandle::keys)). Clones share the
/// set.
///
/// A request signed with a key of the set whose
/// [`expires_at`](Credentials::expires_at) has passed is refused with 403
/// `ExpiredTokenException`, as AWS refuses expired temporary credentials; a
/// key that is not in the set with 403 `UnrecognizedClientException`.
/// Expired keys stay in the set (and keep being answered as expired) until
/// removed, or until an insertion an hour after their expiry drops them.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use kvs_mkv::emulator::KeyStore;
/// use kvs_mkv::sigv4::{CredentialStore, Credentials};
///
/// let keys = KeyStore::new();
/// keys.insert(
///     Credentials::new("ASIAROTATING1", "secret")
///         .with_session_token("token")
///         .with_expiry(SystemTime::now() + Duration::from_secs(5)),
/// );
/// assert!(keys.credentials_for("ASIAROTATING1").is_some());
/// assert_eq!(keys.len(), 1);
/// assert!(!format!("{keys:?}").contains("secret"));
/// ```
#[derive(Clone, Default)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    keys: RwLock<HashMap<String, Credentials>>,
    file: Option<KeyFile>,
}

/// A file the set is read from, and what was last read.
struct KeyFile {
    path: PathBuf,
    /// The file's size and modification time when last read successfully.
    read: Mutex<Option<(u64, Option<SystemTime>)>>,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ids and expiries only: the credentials' own Debug hides secrets,
        // and this is shorter.
        let keys = self.read();
        let mut ids: Vec<(&String, Option<u64>)> = keys
            .iter()
            .map(|(id, c)| (id, c.expires_at.map(epoch_secs)))
            .collect();
        ids.sort();
        f.debug_struct("KeyStore")
            .field("keys", &ids)
            .field("file", &self.inner.file.as_ref().map(|f| &f.path))
            .finish()
    }
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl KeyStore {
    /// An empty set (every request is refused until a key is inserted).
    pub fn new() -> KeyStore {
        KeyStore::default()
    }

    /// A set holding these keys.
    pub fn with_keys(keys: impl IntoIterator<Item = Credentials>) -> KeyStore {
        let store = KeyStore::new();
        store.replace(keys);
        store
    }

    /// A set read from `path`, and read again whenever the file changes
    /// (its size or modification time; checked at each request and at each
    /// [`reload`](Self::reload)). Write the file whole (write elsewhere,
    /// then rename): a reading that fails keeps the previous set.
    ///
    /// One key per line, fields separated by spaces or tabs:
    ///
    /// ```text
    /// # ACCESS_KEY_ID  SECRET_ACCESS_KEY  [SESSION_TOKEN|-  [EXPIRES]]
    /// AKIDLONGTERM     long-term-secret
    /// ASIATEMPORARY    temporary-secret   FQoGZXIvYXdzEXAMPLE  1767225600
    /// ASIANOTOKEN      another-secret     -                    1767225600
    /// ```
    ///
    /// `EXPIRES` is in seconds since the epoch; `-` stands for no session
    /// token. Blank lines and lines starting with `#` are ignored.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("kvs-mkv-doc-keys-{}", std::process::id()));
    /// std::fs::write(&path, "AKIDONE secret-one\nASIATWO secret-two token 4102444800\n").unwrap();
    /// let keys = kvs_mkv::emulator::KeyStore::from_file(&path)?;
    /// assert_eq!(keys.access_key_ids(), ["AKIDONE", "ASIATWO"]);
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), kvs_mkv::emulator::EmulatorError>(())
    /// ```
    pub fn from_file(path: impl Into<PathBuf>) -> Result<KeyStore, EmulatorError> {
        let store = KeyStore {
            inner: Arc::new(Inner {
                keys: RwLock::default(),
                file: Some(KeyFile {
                    path: path.into(),
                    read: Mutex::new(None),
                }),
            }),
        };
        store.reload()?;
        Ok(store)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Credentials>> {
        self.inner.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Credentials>> {
        self.inner.keys.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a key (replacing one with the same access key id, which is
    /// returned), and drops keys that expired over an hour ago.
    pub fn insert(&self, credentials: Credentials) -> Option<Credentials> {
        let mut keys = self.write();
        if let Some(cutoff) = SystemTime::now().checked_sub(EXPIRED_KEPT) {
            keys.retain(|_, c| !c.is_expired_at(cutoff));
        }
        keys.insert(credentials.access_key_id.clone(), credentials)
    }

    /// Removes a key.
    pub fn remove(&self, access_key_id: &str) -> Option<Credentials> {
        self.write().remove(access_key_id)
    }

    /// Replaces the whole set.
    pub fn replace(&self, credentials: impl IntoIterator<Item = Credentials>) {
        let new: HashMap<String, Credentials> = credentials
            .into_iter()
            .map(|c| (c.access_key_id.clone(), c))
            .collect();
        *self.write() = new;
    }

    /// A key of the set (expired or not).
    pub fn get(&self, access_key_id: &str) -> Option<Credentials> {
        self.read().get(access_key_id).cloned()
    }

    /// The access key ids of the set, sorted.
    pub fn access_key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.read().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// How many keys the set holds (expired ones included).
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The file the set is read from, if any.
    pub fn file(&self) -> Option<&Path> {
        self.inner.file.as_ref().map(|f| f.path.as_path())
    }

    /// Reads the file again if it changed since it was last read: `true`
    /// when the set was replaced. A file that cannot be read or has a bad
    /// line leaves the set as it was, and is tried again at the next check.
    /// Without a file: `Ok(false)`.
    pub fn reload(&self) -> Result<bool, EmulatorError> {
        let Some(file) = &self.inner.file else {
            return Ok(false);
        };
        let mut read = file.read.lock().unwrap_or_else(|e| e.into_inner());
        let io = |source| EmulatorError::Read {
            path: file.path.clone(),
            source,
        };
        let meta = std::fs::metadata(&file.path).map_err(io)?;
        let stamp = (meta.len(), meta.modified().ok());
        if *read == Some(stamp) {
            return Ok(false);
        }
        let text = std::fs::read_to_string(&file.path).map_err(io)?;
        let keys = parse_key_file(&text).map_err(|(line, reason)| EmulatorError::KeyFile {
            path: file.path.clone(),
            line,
            reason,
        })?;
        self.replace(keys);
        *read = Some(stamp);
        Ok(true)
    }
}

impl CredentialStore for KeyStore {
    /// The key, after reading the file again if it changed (a bad file
    /// keeps the previous set).
    fn credentials_for(&self, access_key_id: &str) -> Option<Credentials> {
        let _ = self.reload();
        self.get(access_key_id)
    }
}

/// The keys of a key file, or the 1-based line number of the first bad
/// line and what is wrong with it (never the line itself: it holds
/// secrets).
fn parse_key_file(text: &str) -> Result<Vec<Credentials>, (usize, &'static str)> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let bad = |reason| Err((i + 1, reason));
        let (id, secret, token, expires) = match fields.as_slice() {
            [id, secret] => (*id, *secret, None, None),
            [id, secret, token] => (*id, *secret, Some(*token), None),
            [id, secret, token, expires] => (*id, *secret, Some(*token), Some(*expires)),
            [_] => return bad("an access key id without a secret access key"),
            _ => return bad("more than four fields"),
        };
        let mut c = Credentials::new(id, secret);
        if let Some(t) = token.filter(|t| *t != "-") {
            c = c.with_session_token(t);
        }
        if let Some(e) = expires {
            let Some(secs) = e
                .parse::<u64>()
                .ok()
                .filter(|_| e.bytes().all(|b| b.is_ascii_digit()))
            else {
                return bad("the expiry is not a number of seconds since the epoch");
            };
            let Some(at) = UNIX_EPOCH.checked_add(Duration::from_secs(secs)) else {
                return bad("the expiry is out of range");
            };
            c = c.with_expiry(at);
        }
        keys.push(c);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_lines() {
        let keys = parse_key_file(
            "# comment\n\nAKID1 s1\n  ASIA2\ts2\ttok2  \nASIA3 s3 - 1700000000\nASIA4 s4 tok4 1700000001\n",
        )
        .unwrap();
        assert_eq!(keys.len(), 4);
        assert_eq!(keys[1].session_token.as_deref(), Some("tok2"));
        assert_eq!(keys[2].session_token, None);
        assert_eq!(
            keys[2].expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(keys[3].session_token.as_deref(), Some("tok4"));
        for (text, line) in [
            ("AKID1 s1\nAKIDONLY\n", 2),
            ("A s t +17 \n", 1),
            ("A s t 1 extra\n", 1),
            ("A s t 99999999999999999999\n", 1),
        ] {
            assert_eq!(parse_key_file(text).unwrap_err().0, line, "{text:?}");
        }
    }

    #[test]
    fn expired_keys_are_dropped_an_hour_later() {
        let store = KeyStore::new();
        let now = SystemTime::now();
        store.insert(Credentials::new("OLD", "s").with_expiry(now - Duration::from_secs(3700)));
        store.insert(Credentials::new("RECENT", "s").with_expiry(now - Duration::from_secs(60)));
        store.insert(Credentials::new("NEW", "s"));
        assert_eq!(store.access_key_ids(), ["NEW", "RECENT"]);
    }

    #[test]
    fn file_reloads_when_it_changes_and_keeps_keys_on_a_bad_write() {
        let dir = std::env::temp_dir().join(format!("kvs-mkv-keys-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys");
        std::fs::write(&path, "AKID1 secret-one\n").unwrap();
        let store = KeyStore::from_file(&path).unwrap();
        assert_eq!(store.access_key_ids(), ["AKID1"]);
        assert!(!store.reload().unwrap(), "unchanged");
        std::fs::write(&path, "AKID2 secret-two\nAKID3 secret-three\n").unwrap();
        assert!(
            store.credentials_for("AKID2").is_some(),
            "read again at lookup"
        );
        assert_eq!(store.access_key_ids(), ["AKID2", "AKID3"]);
        std::fs::write(&path, "AKID4 secret-four\nAKIDHALF\n").unwrap();
        let err = store.reload().unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("line 2") && !shown.contains("secret-four"),
            "{shown}"
        );
        assert_eq!(store.access_key_ids(), ["AKID2", "AKID3"], "kept");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(store.reload().is_err(), "a missing file is an error");
        assert_eq!(store.access_key_ids(), ["AKID2", "AKID3"], "kept");
    }
}
