//! The pages' own GraphQL documents, taken from `static/js/` at build time (`include_str!`), so the
//! generator asks gifchat for exactly what a browser asks for — and follows when the pages change.

use anyhow::{bail, Context, Result};

/// room.js: the room page (subscription template, `EVENT_FIELDS`, the `SEND` mutation).
const ROOM_JS: &str = include_str!("../../../static/js/room.js");
/// lobby.js: the lobby page (`LOBBY` subscription).
const LOBBY_JS: &str = include_str!("../../../static/js/lobby.js");
/// lobby-rows.js: the `Row` fragment the lobby's documents spread.
const LOBBY_ROWS_JS: &str = include_str!("../../../static/js/lobby-rows.js");
/// The room page's modules that may add selections through `hooks.extraSelection.push(…)`, in the
/// order room.js imports them.
const HOOK_MODULES: [&str; 3] = [
    include_str!("../../../static/js/members.js"),
    include_str!("../../../static/js/whisper.js"),
    include_str!("../../../static/js/typing.js"),
];

/// The documents the generator sends to gifchat.
#[derive(Debug, Clone)]
pub struct PageDocs {
    /// The room page's `room(id, after)` subscription, with every hook's extra selection.
    pub room: String,
    /// The room page's `sendMessage` mutation (variables `roomId`, `text`, `key`).
    pub send: String,
    /// The lobby page's `lobby` subscription.
    pub lobby: String,
}

/// The text between `start` (exclusive) and the next `end` after it.
fn between<'a>(src: &'a str, start: &str, end: &str) -> Result<&'a str> {
    let from = src.find(start).with_context(|| format!("`{start}` not found"))? + start.len();
    let len = src[from..].find(end).with_context(|| format!("no `{end}` after `{start}`"))?;
    Ok(&src[from..from + len])
}

impl PageDocs {
    /// Extracts the documents from the page scripts compiled into this binary.
    pub fn from_pages() -> Result<Self> {
        let mut lobby_js = LOBBY_JS.to_owned();
        if let Ok(row) = between(LOBBY_ROWS_JS, "export const ROW_FRAGMENT = `", "`;") {
            lobby_js = lobby_js.replace("${ROW_FRAGMENT}", row);
        }
        Self::extract(ROOM_JS, &lobby_js, &HOOK_MODULES)
    }

    /// Extracts the documents from the given script texts.
    pub fn extract(room_js: &str, lobby_js: &str, hook_modules: &[&str]) -> Result<Self> {
        let fields = between(room_js, "const EVENT_FIELDS = '", "'")?;
        let mut extra = Vec::new();
        for module in hook_modules {
            let mut rest = *module;
            while let Some(at) = rest.find("hooks.extraSelection.push(") {
                rest = &rest[at + "hooks.extraSelection.push(".len()..];
                let quote = rest.chars().next().context("empty push")?;
                if !matches!(quote, '\'' | '"' | '`') {
                    bail!("extraSelection.push of a non-literal: the bench cannot follow it");
                }
                let lit = between(rest, &quote.to_string(), &quote.to_string())?;
                extra.push(lit.to_owned());
                rest = &rest[lit.len() + 2..];
            }
        }
        let template = between(room_js, "function roomSubscription() {\n  return `", "`;")?;
        let room = template
            .replace("${EVENT_FIELDS}", fields)
            .replace("${hooks.extraSelection.join('\\n')}", &extra.join("\n"));
        let send = between(room_js, "const SEND = `", "`;")?.replace("${EVENT_FIELDS}", fields);
        let lobby = between(lobby_js, "const LOBBY = `", "`;")?.to_owned();
        for (name, doc) in [("room", &room), ("send", &send), ("lobby", &lobby)] {
            if doc.contains("${") {
                bail!("the {name} document still has a template placeholder: {doc}");
            }
        }
        Ok(Self { room, send, lobby })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_documents_are_extracted_whole() {
        let d = PageDocs::from_pages().expect("extract");
        assert!(d.room.contains("room(id: $id, after: $after)"), "{}", d.room);
        assert!(d.room.contains("... on RoomEvent { seq"), "{}", d.room);
        // typing.js adds its selection through the hook: it must be in the document the bench sends.
        assert!(d.room.contains("... on MemberTyping"), "{}", d.room);
        assert!(d.send.contains("sendMessage(roomId: $roomId, text: $text, clientKey: $key)"), "{}", d.send);
        assert!(d.lobby.contains("lobby {") && d.lobby.contains("fragment Row on Room"), "{}", d.lobby);
    }

    #[test]
    fn a_push_of_a_computed_selection_is_refused() {
        let room = "const EVENT_FIELDS = 'seq';\nfunction roomSubscription() {\n  return `x { ${EVENT_FIELDS} ${hooks.extraSelection.join('\\n')} }`;\n}";
        let lobby = "const LOBBY = `subscription { lobby { __typename } }`;";
        assert!(PageDocs::extract(room, lobby, &["hooks.extraSelection.push(sel);"]).is_err());
        // Positive control: the same scripts with a literal push (and a SEND) extract fine.
        let with_send = format!("{room}\nconst SEND = `mutation {{ ${{EVENT_FIELDS}} }}`;");
        let ok = PageDocs::extract(&with_send, lobby, &["hooks.extraSelection.push('... on X { y }');"]).expect("ok");
        assert!(ok.room.contains("... on X { y }"));
    }
}
