//! Tags: how a SimpleTag's TagName and TagString / TagBinary become one
//! [`Tag`](crate::Tag)'s name and value. A SimpleTag is handed out as soon as
//! it has both (or when it ends, or when a nested SimpleTag begins), so the
//! decoder never waits for the end of a Tags element.

use bytes::Bytes;

use crate::chunk::TagValue;
use crate::ebml;
use crate::kvs::{self, AwsTag};
use crate::matroska::ids;
use crate::text::{Text, TextArena};

/// A SimpleTag handed out: its name, its value, and which AWS tag the
/// name is, if any (looked up once, when the TagName was read).
pub(crate) type ReadTag = (Text, TagValue, Option<AwsTag>);

/// A SimpleTag being read.
#[derive(Debug, Default)]
pub(crate) struct SimpleTagBuild {
    name: Option<Text>,
    /// Which AWS tag `name` is.
    aws: Option<AwsTag>,
    value: Option<TagValue>,
    /// Its name and value were handed out already.
    emitted: bool,
}

impl SimpleTagBuild {
    /// Reads a TagName, TagString or TagBinary (other IDs are ignored);
    /// the tag, when it now has both its name and its value.
    pub(crate) fn read(
        &mut self,
        id: u32,
        payload: &[u8],
        arena: &mut TextArena,
    ) -> Option<ReadTag> {
        match id {
            ids::TAG_NAME => {
                let (name, aws) = name_of(payload, arena);
                self.aws = aws;
                self.name = Some(name);
            }
            ids::TAG_STRING => self.value = Some(string_of(payload, arena)),
            ids::TAG_BINARY => self.value = Some(TagValue::Binary(Bytes::copy_from_slice(payload))),
            _ => return None,
        }
        (self.name.is_some() && self.value.is_some() && !self.emitted).then(|| self.take())
    }

    /// A nested SimpleTag begins: this one's tag, when it has a name and
    /// was not handed out yet (its parent's name and value come first).
    pub(crate) fn before_child(&mut self) -> Option<ReadTag> {
        (self.name.is_some() && !self.emitted).then(|| self.take())
    }

    /// The SimpleTag ended: its tag, when it has a name or a value and was
    /// not handed out yet.
    pub(crate) fn at_end(&mut self) -> Option<ReadTag> {
        (!self.emitted && (self.name.is_some() || self.value.is_some())).then(|| self.take())
    }

    /// The tag of a SimpleTag that is a TagName (`name`, its payload) then
    /// a TagString (`value`): what [`read`](Self::read) hands out when
    /// given the two in that order, without a `SimpleTagBuild`.
    #[inline(always)]
    pub(crate) fn read_pair(name: &[u8], value: &[u8], arena: &mut TextArena) -> ReadTag {
        let (name, aws) = name_of(name, arena);
        (name, string_of(value, arena), aws)
    }

    fn take(&mut self) -> ReadTag {
        self.emitted = true;
        (
            self.name.take().unwrap_or_default(),
            self.value.take().unwrap_or(TagValue::None),
            self.aws.take(),
        )
    }
}

/// A TagName's payload as the tag's name, and which AWS tag it is.
#[inline]
fn name_of(payload: &[u8], arena: &mut TextArena) -> (Text, Option<AwsTag>) {
    let name = ebml::strip_nuls(payload);
    // The AWS tags' names, five or more a chunk, are not copied.
    match kvs::known_name(name) {
        Some((tag, known)) => (Text::from_static(known), Some(tag)),
        None => (arena.text(name), None),
    }
}

/// A TagString's payload as the tag's value.
#[inline]
fn string_of(payload: &[u8], arena: &mut TextArena) -> TagValue {
    TagValue::String(arena.text(ebml::strip_nuls(payload)))
}

/// The SimpleTags open in a chunk, innermost last. A SimpleTag nests in
/// another rarely, so the outermost is held inline: a chunk's tags cost no
/// allocation here (only nested ones go to the heap).
#[derive(Debug, Default)]
pub(crate) struct SimpleTagStack {
    first: Option<SimpleTagBuild>,
    nested: Vec<SimpleTagBuild>,
}

impl SimpleTagStack {
    /// The innermost open SimpleTag.
    pub(crate) fn last_mut(&mut self) -> Option<&mut SimpleTagBuild> {
        match self.nested.last_mut() {
            Some(st) => Some(st),
            None => self.first.as_mut(),
        }
    }

    /// A SimpleTag begins (inside the innermost open one, if any).
    pub(crate) fn push(&mut self, st: SimpleTagBuild) {
        if self.first.is_none() {
            self.first = Some(st);
        } else {
            self.nested.push(st);
        }
    }

    /// The innermost SimpleTag ends.
    pub(crate) fn pop(&mut self) -> Option<SimpleTagBuild> {
        self.nested.pop().or_else(|| self.first.take())
    }

    /// None open (a chunk begins; the allocation is kept).
    pub(crate) fn clear(&mut self) {
        self.first = None;
        self.nested.clear();
    }
}
