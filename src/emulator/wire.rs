//! The wire format of the service models: operation paths, the error shapes
//! (status, `x-amzn-ErrorType`, JSON body), JSON members and timestamps.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::sigv4::VerifyError;

/// The five operations the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `POST /getDataEndpoint` (kinesisvideo).
    GetDataEndpoint,
    /// `POST /getMedia` (kinesis-video-media).
    GetMedia,
    /// `POST /listFragments` (kinesis-video-archived-media).
    ListFragments,
    /// `POST /getMediaForFragmentList` (kinesis-video-archived-media).
    GetMediaForFragmentList,
    /// `POST /getImages` (kinesis-video-archived-media).
    GetImages,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 5] = [
        Operation::GetDataEndpoint,
        Operation::GetMedia,
        Operation::ListFragments,
        Operation::GetMediaForFragmentList,
        Operation::GetImages,
    ];

    /// The operation's name in the service model, e.g. `"GetMedia"`.
    ///
    /// ```
    /// use kvs_mkv::emulator::Operation;
    /// assert_eq!(Operation::GetMedia.name(), "GetMedia");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Operation::GetDataEndpoint => "GetDataEndpoint",
            Operation::GetMedia => "GetMedia",
            Operation::ListFragments => "ListFragments",
            Operation::GetMediaForFragmentList => "GetMediaForFragmentList",
            Operation::GetImages => "GetImages",
        }
    }

    /// The request path (`requestUri` in the model), e.g. `"/getMedia"`.
    ///
    /// ```
    /// use kvs_mkv::emulator::Operation;
    /// assert_eq!(Operation::GetMediaForFragmentList.path(), "/getMediaForFragmentList");
    /// ```
    pub fn path(self) -> &'static str {
        match self {
            Operation::GetDataEndpoint => "/getDataEndpoint",
            Operation::GetMedia => "/getMedia",
            Operation::ListFragments => "/listFragments",
            Operation::GetMediaForFragmentList => "/getMediaForFragmentList",
            Operation::GetImages => "/getImages",
        }
    }

    /// The operation a request path names.
    pub fn from_path(path: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.path() == path)
    }

    /// Whether the response is a media stream (GetMedia,
    /// GetMediaForFragmentList).
    pub fn streams_media(self) -> bool {
        matches!(
            self,
            Operation::GetMedia | Operation::GetMediaForFragmentList
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Operation {
    type Err = String;

    /// The model name (`GetMedia`) or its kebab-case CLI form (`get-media`),
    /// in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let flat: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        Operation::ALL
            .into_iter()
            .find(|op| op.name().to_ascii_lowercase() == flat)
            .ok_or_else(|| format!("unknown operation {s:?}"))
    }
}

/// The error codes of the emulator's own answers (a refused signature
/// answers the code of its [`VerifyError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    InvalidArgument,
    ResourceNotFound,
    ClientLimitExceeded,
    ConnectionLimitExceeded,
    NotAuthorized,
    RequestTimeout,
    Serialization,
    UnknownOperation,
    InternalFailure,
    ServiceUnavailable,
}

impl ErrorCode {
    /// The code as the service spells it (`x-amzn-ErrorType`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "InvalidArgumentException",
            ErrorCode::ResourceNotFound => "ResourceNotFoundException",
            ErrorCode::ClientLimitExceeded => "ClientLimitExceededException",
            ErrorCode::ConnectionLimitExceeded => "ConnectionLimitExceededException",
            ErrorCode::NotAuthorized => "NotAuthorizedException",
            ErrorCode::RequestTimeout => "RequestTimeoutException",
            ErrorCode::Serialization => "SerializationException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::InternalFailure => "InternalFailure",
            ErrorCode::ServiceUnavailable => "ServiceUnavailableException",
        }
    }

    /// The status the models give it (a server error's is chosen by the
    /// fault that injects it).
    fn status(self) -> u16 {
        match self {
            ErrorCode::ResourceNotFound | ErrorCode::UnknownOperation => 404,
            ErrorCode::NotAuthorized => 401,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::InternalFailure => 500,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::InvalidArgument
            | ErrorCode::ClientLimitExceeded
            | ErrorCode::ConnectionLimitExceeded
            | ErrorCode::Serialization => 400,
        }
    }
}

/// What an error answer is: one of the emulator's codes, or a refused
/// signature with the verifier's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Code(ErrorCode),
    Signature(VerifyError),
}

/// An error answer: HTTP status, what it is, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code(), self.status, self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Signature(e) => Some(e),
            ErrorKind::Code(_) => None,
        }
    }
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status: code.status(),
            kind: ErrorKind::Code(code),
            message: message.into(),
        }
    }

    /// The error code (`x-amzn-ErrorType`).
    pub fn code(&self) -> &'static str {
        match &self.kind {
            ErrorKind::Code(c) => c.as_str(),
            ErrorKind::Signature(e) => e.aws_error_code(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFound, message)
    }

    pub fn client_limit(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ClientLimitExceeded, message)
    }

    pub fn connection_limit(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ConnectionLimitExceeded, message)
    }

    pub fn not_authorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotAuthorized, message)
    }

    /// A request body that did not arrive in time (408).
    pub fn request_timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RequestTimeout, message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Serialization, message)
    }

    pub fn unknown_operation(method: &str, path: &str) -> Self {
        Self::new(
            ErrorCode::UnknownOperation,
            format!("no operation at {method} {path}"),
        )
    }

    pub fn server_error(status: u16) -> Self {
        let code = if status == 503 {
            ErrorCode::ServiceUnavailable
        } else {
            ErrorCode::InternalFailure
        };
        ApiError {
            status,
            ..Self::new(code, "injected server error")
        }
    }

    /// A refused signature: 403 with the code AWS answers.
    pub fn auth(e: &VerifyError) -> Self {
        ApiError {
            status: 403,
            message: e.to_string(),
            kind: ErrorKind::Signature(e.clone()),
        }
    }

    /// The JSON body. Front-end (authentication) errors spell the member
    /// `message`; the service's modeled errors spell it `Message`, as the
    /// models do.
    pub fn body(&self) -> Vec<u8> {
        let member = match self.kind {
            ErrorKind::Signature(_) => "message",
            ErrorKind::Code(_) => "Message",
        };
        let mut map = Map::new();
        map.insert(member.into(), Value::String(self.message.clone()));
        serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
    }
}

/// A request's JSON members.
#[derive(Debug, Clone, Default)]
pub(crate) struct Input(Map<String, Value>);

impl Input {
    /// An empty body reads as `{}`.
    pub fn parse(body: &[u8]) -> Result<Input, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Input(map)),
            Ok(_) => Err(ApiError::serialization(
                "the request body is not a JSON object",
            )),
            Err(e) => Err(ApiError::serialization(format!(
                "the request body is not valid JSON: {e}"
            ))),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn wrong_type(key: &str, what: &str) -> ApiError {
        ApiError::serialization(format!("{key} must be {what}"))
    }

    pub fn string(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Self::wrong_type(key, "a string")),
        }
    }

    pub fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| Self::wrong_type(key, "an integer")),
        }
    }

    /// An epoch-seconds timestamp (a number, with or without a fraction),
    /// in milliseconds.
    pub fn timestamp_ms(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                let secs = v
                    .as_f64()
                    .ok_or_else(|| Self::wrong_type(key, "a timestamp in epoch seconds"))?;
                if !(0.0..=1e13).contains(&secs) {
                    return Err(ApiError::invalid_argument(format!("{key} is out of range")));
                }
                Ok(Some((secs * 1000.0).round() as u64))
            }
        }
    }

    pub fn object(&self, key: &str) -> Result<Option<Input>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Input(map.clone()))),
            Some(_) => Err(Self::wrong_type(key, "an object")),
        }
    }

    pub fn string_list(&self, key: &str) -> Result<Option<Vec<&str>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| Self::wrong_type(key, "a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(Self::wrong_type(key, "a list of strings")),
        }
    }

    pub fn string_map(&self, key: &str) -> Result<Option<Vec<(&str, &str)>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|v| (k.as_str(), v))
                        .ok_or_else(|| Self::wrong_type(key, "a map of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(Self::wrong_type(key, "a map of strings")),
        }
    }
}

/// A timestamp as the models write it: epoch seconds, a number with a
/// fraction.
pub(crate) fn timestamp_json(ms: u64) -> Value {
    serde_json::Number::from_f64(ms as f64 / 1000.0).map_or(Value::Null, Value::Number)
}

/// How a request names its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamRef {
    Name(String),
    Arn(String),
    Both { name: String, arn: String },
}

impl StreamRef {
    /// `StreamName` and/or `StreamARN`, checked against the model's
    /// constraints.
    pub fn from_input(input: &Input) -> Result<StreamRef, ApiError> {
        let name = input.string("StreamName")?;
        let arn = input.string("StreamARN")?;
        if let Some(name) = name {
            let ok = (1..=256).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !ok {
                return Err(ApiError::invalid_argument(format!(
                    "StreamName {name:?} does not match [a-zA-Z0-9_.-]+ (1 to 256 characters)"
                )));
            }
        }
        if let Some(arn) = arn {
            if !(1..=1024).contains(&arn.len()) || !arn.starts_with("arn:") {
                return Err(ApiError::invalid_argument(format!(
                    "StreamARN {arn:?} is not a Kinesis Video stream ARN"
                )));
            }
        }
        match (name, arn) {
            (Some(n), None) => Ok(StreamRef::Name(n.into())),
            (None, Some(a)) => Ok(StreamRef::Arn(a.into())),
            (Some(n), Some(a)) => Ok(StreamRef::Both {
                name: n.into(),
                arn: a.into(),
            }),
            (None, None) => Err(ApiError::invalid_argument(
                "either StreamName or StreamARN must be specified",
            )),
        }
    }
}

/// Whether `s` is a fragment number as the model allows it (`^[0-9]+$`, 1
/// to 128 characters).
pub(crate) fn is_fragment_number(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_path(op.path()), Some(op));
            assert_eq!(op.name().parse::<Operation>(), Ok(op));
        }
        assert_eq!(
            "get-media-for-fragment-list".parse::<Operation>(),
            Ok(Operation::GetMediaForFragmentList)
        );
        assert!("PutMedia".parse::<Operation>().is_err());
    }

    #[test]
    fn error_bodies() {
        let e = ApiError::not_found("no stream");
        assert_eq!(e.body(), br#"{"Message":"no stream"}"#);
        let auth = ApiError::auth(&VerifyError::SignatureMismatch);
        assert_eq!(auth.status, 403);
        assert_eq!(auth.code(), "InvalidSignatureException");
        assert!(String::from_utf8(auth.body())
            .unwrap()
            .starts_with(r#"{"message":"#));
    }

    #[test]
    fn timestamps() {
        let input = Input::parse(br#"{"a": 1511852109.126, "b": 12, "c": "x", "d": -1}"#).unwrap();
        assert_eq!(input.timestamp_ms("a").unwrap(), Some(1_511_852_109_126));
        assert_eq!(input.timestamp_ms("b").unwrap(), Some(12_000));
        assert_eq!(input.timestamp_ms("z").unwrap(), None);
        assert_eq!(
            input.timestamp_ms("c").unwrap_err().code(),
            "SerializationException"
        );
        assert_eq!(
            input.timestamp_ms("d").unwrap_err().code(),
            "InvalidArgumentException"
        );
        assert_eq!(
            timestamp_json(1_511_852_109_126).to_string(),
            "1511852109.126"
        );
    }

    #[test]
    fn stream_refs() {
        let named = Input::parse(br#"{"StreamName": "cam-1"}"#).unwrap();
        assert_eq!(
            StreamRef::from_input(&named),
            Ok(StreamRef::Name("cam-1".into()))
        );
        let bad = Input::parse(br#"{"StreamName": "a b"}"#).unwrap();
        assert_eq!(StreamRef::from_input(&bad).unwrap_err().status, 400);
        let none = Input::parse(b"{}").unwrap();
        assert_eq!(
            StreamRef::from_input(&none).unwrap_err().code(),
            "InvalidArgumentException"
        );
    }
}
