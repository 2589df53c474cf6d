//! Every user-visible string of the pages and the browser client, in one place: Korean (the book's texts,
//! kept exactly) and English. [`Lang`] is chosen per request from `Accept-Language`; the client gets the
//! strings it needs as JSON in a `data-` attribute, so JavaScript holds no texts of its own.

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use serde::Serialize;

use crate::domain::InputError;

/// The reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 한국어: the book's language and the default.
    Ko,
    /// English, when the browser prefers it.
    En,
}

impl Lang {
    /// English when the highest-ranked of `ko`/`en` in `Accept-Language` is English; Korean otherwise
    /// (also when the header is missing or names neither).
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else { return Lang::Ko };
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.trim().split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("en") => Lang::En,
                Some("ko") => Lang::Ko,
                _ => continue,
            };
            // Equal weights keep the header's order: a later entry needs a strictly greater q to win.
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Ko)
    }

    /// The `lang` attribute of `<html>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    /// The strings in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ko => &KO,
            Lang::En => &EN,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_accept_language(parts.headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())))
    }
}

/// All strings of one language. `{color}` marks where a member's colour goes; `{max}` a number.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Texts {
    // Lobby (`main.html` in the book).
    pub app_title: &'static str,
    pub room_list: &'static str,
    pub col_title: &'static str,
    pub col_kind: &'static str,
    pub col_capacity: &'static str,
    pub col_members: &'static str,
    pub col_owner: &'static str,
    pub col_enter: &'static str,
    pub secret_room: &'static str,
    pub public_room: &'static str,
    pub enter: &'static str,
    pub create_room_link: &'static str,
    pub no_rooms: &'static str,
    pub full: &'static str,
    pub no_owner: &'static str,
    pub yours: &'static str,
    pub your_color: &'static str,
    /// Shown instead of the colour to a visitor who has no session yet.
    pub your_color_later: &'static str,
    pub live_offline: &'static str,
    // Create form (`room.html`).
    pub create_title: &'static str,
    pub create_legend: &'static str,
    pub create_button: &'static str,
    pub back_to_lobby: &'static str,
    // Password form (replaces the book's `prompt`).
    pub password_prompt: &'static str,
    pub password_legend: &'static str,
    // Room (`chat.html`).
    pub exit: &'static str,
    pub chat_legend: &'static str,
    pub upload_gif: &'static str,
    pub send: &'static str,
    pub message_label: &'static str,
    pub gif_alt: &'static str,
    pub members: &'static str,
    pub older_loading: &'static str,
    pub reconnecting: &'static str,
    pub uploading: &'static str,
    pub upload_too_big: &'static str,
    pub upload_not_gif: &'static str,
    pub upload_failed: &'static str,
    pub send_failed: &'static str,
    // Room page: character limit, sending state, refusals by reason, owner confirmations (issue 11).
    pub message_placeholder: &'static str,
    pub char_count: &'static str,
    pub sending: &'static str,
    pub send_retry: &'static str,
    pub send_discard: &'static str,
    pub not_sent: &'static str,
    pub new_messages: &'static str,
    pub err_too_long: &'static str,
    pub err_empty: &'static str,
    pub err_bad_chars: &'static str,
    pub err_not_a_gif: &'static str,
    pub err_gif_damaged: &'static str,
    pub err_gif_too_large: &'static str,
    pub err_room_gifs_full: &'static str,
    pub err_gifs_full: &'static str,
    pub err_not_present: &'static str,
    pub err_self: &'static str,
    pub err_not_member: &'static str,
    pub err_owner_only: &'static str,
    pub err_network: &'static str,
    pub err_unknown: &'static str,
    pub hand_over_confirm: &'static str,
    pub hand_over_yes: &'static str,
    pub kick_confirm: &'static str,
    pub kick_yes: &'static str,
    // Member list, whispers, owner tools and typing (the book's exercises).
    pub members_count: &'static str,
    pub owner_badge: &'static str,
    pub whisper_button: &'static str,
    pub whisper_target: &'static str,
    pub whisper_everyone: &'static str,
    pub whisper_gone: &'static str,
    pub hand_over: &'static str,
    pub hand_over_label: &'static str,
    pub kick_button: &'static str,
    pub kick_label: &'static str,
    pub owner_tools: &'static str,
    pub delete_room: &'static str,
    pub delete_confirm: &'static str,
    pub delete_yes: &'static str,
    pub cancel: &'static str,
    pub action_failed: &'static str,
    pub typing: &'static str,
    // System events, rendered in the reader's language.
    pub joined: &'static str,
    pub left: &'static str,
    pub owner_changed: &'static str,
    pub kicked: &'static str,
    pub whisper: &'static str,
    pub whisper_to: &'static str,
    pub whisper_to_me: &'static str,
    // Refusal codes shown in the lobby (`/?error=CODE`).
    pub err_not_found: &'static str,
    pub err_wrong_password: &'static str,
    pub err_room_full: &'static str,
    pub err_forbidden: &'static str,
    pub err_kicked: &'static str,
    pub err_removed: &'static str,
    pub err_deleted: &'static str,
    pub err_left: &'static str,
    pub err_rate_limited: &'static str,
    /// A refusal by a rate limit that says how long to wait (`{secs}`).
    pub err_rate_limited_wait: &'static str,
    pub err_internal: &'static str,
    /// A room's socket arrived without a session (cookies blocked, or the session expired meanwhile).
    pub err_no_session: &'static str,
    // Create-form validation.
    pub err_title_empty: &'static str,
    pub err_title_long: &'static str,
    pub err_title_chars: &'static str,
    pub err_capacity: &'static str,
    pub err_password_long: &'static str,
    // Failure page.
    pub failure_title: &'static str,
    pub failure_text: &'static str,
    // Lobby at scale, create form labels, password and 404 pages (issue 11, lobby part).
    pub search_label: &'static str,
    pub search_button: &'static str,
    pub search_all: &'static str,
    pub more_rooms: &'static str,
    pub more_loading: &'static str,
    pub first_page: &'static str,
    pub no_matches: &'static str,
    pub join_full: &'static str,
    pub join_removed: &'static str,
    pub cannot_enter: &'static str,
    pub room_counts: &'static str,
    pub title_label: &'static str,
    pub max_label: &'static str,
    pub max_hint: &'static str,
    pub password_label: &'static str,
    pub password_hint: &'static str,
    pub err_search_long: &'static str,
    pub err_bad_page: &'static str,
    pub err_invalid: &'static str,
    pub err_password_empty: &'static str,
    pub not_found_title: &'static str,
    pub not_found_route: &'static str,
}

/// 한국어 — the book's texts exactly where the book has them (§9 of the reference study).
pub static KO: Texts = Texts {
    app_title: "GIF 채팅방",
    room_list: "채팅방 목록",
    col_title: "방 제목",
    col_kind: "종류",
    col_capacity: "허용 인원",
    col_members: "현재 인원",
    col_owner: "방장",
    col_enter: "입장",
    secret_room: "비밀방",
    public_room: "공개방",
    enter: "입장",
    create_room_link: "채팅방 생성",
    no_rooms: "아직 채팅방이 없습니다.",
    full: "만원",
    no_owner: "없음",
    yours: "나",
    your_color: "내 색",
    your_color_later: "방을 만들거나 방에 들어가면 내 색이 정해집니다.",
    live_offline: "실시간 연결이 끊겼습니다. 다시 연결하는 중…",
    create_title: "GIF 채팅방 생성",
    create_legend: "채팅방 생성",
    create_button: "생성",
    back_to_lobby: "목록으로",
    password_prompt: "비밀번호를 입력하세요",
    password_legend: "비밀방 입장",
    exit: "방 나가기",
    chat_legend: "채팅 내용",
    upload_gif: "GIF 올리기",
    send: "전송",
    message_label: "메시지",
    gif_alt: "{color}님이 올린 GIF",
    members: "참여자",
    older_loading: "이전 메시지를 불러오는 중…",
    reconnecting: "연결이 끊겼습니다. 다시 연결하는 중…",
    uploading: "GIF 올리는 중…",
    upload_too_big: "파일이 너무 큽니다. 최대 {max} MiB까지 올릴 수 있습니다.",
    upload_not_gif: "GIF 파일만 올릴 수 있습니다.",
    upload_failed: "GIF를 올리지 못했습니다.",
    send_failed: "메시지를 보내지 못했습니다.",
    message_placeholder: "메시지를 입력하세요",
    char_count: "{count}/{max}자",
    sending: "전송 중…",
    send_retry: "다시 보내기",
    send_discard: "지우기",
    not_sent: "보내지 못했습니다.",
    new_messages: "새 메시지 ↓",
    err_too_long: "메시지는 {max}자까지 보낼 수 있습니다. 지금 {count}자입니다.",
    err_empty: "보낼 내용을 입력하세요.",
    err_bad_chars: "메시지에 쓸 수 없는 문자(제어 문자나 글자 방향 문자)가 있습니다.",
    err_not_a_gif: "GIF 파일이 아닙니다. GIF 파일만 올릴 수 있습니다.",
    err_gif_damaged: "GIF 파일이 손상되었거나 완전하지 않습니다.",
    err_gif_too_large: "GIF의 크기나 프레임 수가 너무 큽니다.",
    err_room_gifs_full: "이 방의 GIF 저장 공간이 가득 차서 더 올릴 수 없습니다. 이미 올린 GIF는 그대로 남아 있습니다.",
    err_gifs_full:
        "서버의 GIF 저장 공간이 가득 차서 지금은 GIF를 올릴 수 없습니다. 이미 올린 GIF는 그대로 남아 있습니다.",
    err_not_present: "상대가 방에 없어 귓속말을 보낼 수 없습니다.",
    err_self: "자신에게는 귓속말을 보낼 수 없습니다.",
    err_not_member: "방에 있지 않아 보낼 수 없습니다. 페이지를 새로 고쳐 다시 입장하세요.",
    err_owner_only: "방장만 할 수 있습니다.",
    err_network: "서버에 연결할 수 없습니다. 연결을 확인한 뒤 다시 시도하세요.",
    err_unknown: "요청을 처리하지 못했습니다. 다시 시도하세요.",
    hand_over_confirm: "{color}님에게 방장을 넘길까요? 넘기면 방장 기능을 더는 쓸 수 없습니다.",
    hand_over_yes: "넘기기",
    kick_confirm: "{color}님을 강퇴할까요? 강퇴된 사람은 이 방에 다시 들어올 수 없습니다.",
    kick_yes: "강퇴하기",
    members_count: "현재 {count}명 / 허용 {max}명",
    owner_badge: "방장",
    whisper_button: "귓속말",
    whisper_target: "{color}님에게 귓속말",
    whisper_everyone: "모두에게 말하기",
    whisper_gone: "{color}님이 방에 없어 모두에게 말하기로 돌아왔습니다.",
    hand_over: "방장 넘기기",
    hand_over_label: "{color}님에게 방장 넘기기",
    kick_button: "강퇴",
    kick_label: "{color}님 강퇴하기",
    owner_tools: "방장 기능",
    delete_room: "방 삭제",
    delete_confirm: "방을 삭제하면 모두 목록으로 돌아갑니다. 삭제할까요?",
    delete_yes: "삭제",
    cancel: "취소",
    action_failed: "요청을 처리하지 못했습니다.",
    typing: "{color}님이 입력 중…",
    joined: "{color}님이 입장하셨습니다.",
    left: "{color}님이 퇴장하셨습니다.",
    owner_changed: "{color}님이 방장이 되었습니다.",
    kicked: "{color}님이 강퇴되었습니다.",
    whisper: "귓속말",
    whisper_to: "{color}님에게 귓속말",
    whisper_to_me: "나에게 귓속말",
    err_not_found: "존재하지 않는 방입니다.",
    err_wrong_password: "비밀번호가 틀렸습니다.",
    err_room_full: "허용 인원이 초과하였습니다.",
    err_forbidden: "이 방에 들어갈 수 없습니다.",
    err_kicked: "방장이 당신을 내보냈습니다.",
    err_removed: "방장이 내보낸 방에는 다시 들어갈 수 없습니다.",
    err_deleted: "방이 삭제되었습니다.",
    err_left: "다른 창에서 방을 나갔습니다.",
    err_rate_limited: "요청이 너무 많습니다. 잠시 후 다시 시도하세요.",
    err_rate_limited_wait: "요청이 너무 많습니다. {secs}초 후에 다시 시도하세요.",
    err_internal: "서버에 문제가 생겼습니다. 잠시 후 다시 시도하세요.",
    err_no_session: "세션이 없어 방에 들어갈 수 없었습니다. 쿠키를 허용한 뒤 다시 입장하세요.",
    err_title_empty: "방 제목을 입력하세요.",
    err_title_long: "방 제목은 {max}자까지 쓸 수 있습니다.",
    err_title_chars: "방 제목에 쓸 수 없는 문자가 있습니다.",
    err_capacity: "허용 인원은 2명에서 100명 사이의 정수여야 합니다.",
    err_password_long: "비밀번호가 너무 깁니다.",
    failure_title: "오류",
    failure_text: "요청을 처리하지 못했습니다. 잠시 후 다시 시도하세요.",
    search_label: "방 제목 검색",
    search_button: "검색",
    search_all: "전체 목록",
    more_rooms: "더 보기",
    more_loading: "채팅방을 더 불러오는 중…",
    first_page: "처음부터 보기",
    no_matches: "검색어가 들어간 방 제목이 없습니다.",
    join_full: "만원",
    join_removed: "강퇴됨",
    cannot_enter: "입장할 수 없습니다",
    room_counts: "{shown}개 / 전체 {total}개",
    title_label: "방 제목",
    max_label: "허용 인원",
    max_hint: "최소 2명, 최대 100명",
    password_label: "비밀번호",
    password_hint: "없으면 공개방",
    err_search_long: "검색어는 {max}자까지 쓸 수 있습니다.",
    err_bad_page: "이 목록 주소는 올바르지 않아 처음부터 보여 드립니다.",
    err_invalid: "입력한 내용을 확인해 주세요.",
    err_password_empty: "비밀번호를 입력하세요.",
    not_found_title: "찾을 수 없습니다",
    not_found_route: "{method} {path} 라우터가 존재하지 않습니다.",
};

/// English.
pub static EN: Texts = Texts {
    app_title: "GIF chat rooms",
    room_list: "Rooms",
    col_title: "Title",
    col_kind: "Kind",
    col_capacity: "Capacity",
    col_members: "Members",
    col_owner: "Owner",
    col_enter: "Enter",
    secret_room: "Secret",
    public_room: "Public",
    enter: "Enter",
    create_room_link: "Create a room",
    no_rooms: "No rooms yet.",
    full: "full",
    no_owner: "none",
    yours: "you",
    your_color: "Your colour",
    your_color_later: "You get your colour when you create or enter a room.",
    live_offline: "Live updates interrupted. Reconnecting…",
    create_title: "Create a GIF chat room",
    create_legend: "Create a room",
    create_button: "Create",
    back_to_lobby: "Back to the rooms",
    password_prompt: "Enter the password",
    password_legend: "Enter a secret room",
    exit: "Leave room",
    chat_legend: "Messages",
    upload_gif: "Upload GIF",
    send: "Send",
    message_label: "Message",
    gif_alt: "GIF posted by {color}",
    members: "Members",
    older_loading: "Loading earlier messages…",
    reconnecting: "Connection lost. Reconnecting…",
    uploading: "Uploading GIF…",
    upload_too_big: "The file is too big. GIFs up to {max} MiB can be uploaded.",
    upload_not_gif: "Only GIF files can be uploaded.",
    upload_failed: "The GIF could not be uploaded.",
    send_failed: "The message could not be sent.",
    message_placeholder: "Type a message",
    char_count: "{count}/{max} characters",
    sending: "Sending…",
    send_retry: "Retry",
    send_discard: "Discard",
    not_sent: "Not sent.",
    new_messages: "New messages ↓",
    err_too_long: "Messages can be at most {max} characters long; this one has {count}.",
    err_empty: "Type something to send.",
    err_bad_chars: "The message contains characters that are not allowed (control or text-direction characters).",
    err_not_a_gif: "That file is not a GIF. Only GIF files can be uploaded.",
    err_gif_damaged: "The GIF file is damaged or incomplete.",
    err_gif_too_large: "The GIF is too large (its dimensions or number of frames).",
    err_room_gifs_full:
        "This room's GIF storage is full, so no more GIFs can be posted here. GIFs already posted stay.",
    err_gifs_full: "The server's GIF storage is full, so GIFs cannot be posted for now. GIFs already posted stay.",
    err_not_present: "That member is no longer in the room, so the whisper could not be sent.",
    err_self: "You cannot whisper to yourself.",
    err_not_member: "You are no longer in this room. Reload the page to enter again.",
    err_owner_only: "Only the owner can do that.",
    err_network: "The server cannot be reached. Check your connection and try again.",
    err_unknown: "The request could not be handled. Please try again.",
    hand_over_confirm: "Make {color} the owner? You will no longer have the owner tools.",
    hand_over_yes: "Make owner",
    kick_confirm: "Remove {color}? They will not be able to enter this room again.",
    kick_yes: "Remove",
    members_count: "{count} of {max} places taken",
    owner_badge: "owner",
    whisper_button: "Whisper",
    whisper_target: "Whispering to {color}",
    whisper_everyone: "Talk to everyone",
    whisper_gone: "{color} is no longer here; talking to everyone again.",
    hand_over: "Make owner",
    hand_over_label: "Make {color} the owner",
    kick_button: "Remove",
    kick_label: "Remove {color} from the room",
    owner_tools: "Owner tools",
    delete_room: "Delete room",
    delete_confirm: "Deleting the room sends everyone back to the room list. Delete it?",
    delete_yes: "Delete",
    cancel: "Cancel",
    action_failed: "The request could not be handled.",
    typing: "{color} is typing…",
    joined: "{color} joined.",
    left: "{color} left.",
    owner_changed: "{color} is now the owner.",
    kicked: "{color} was removed by the owner.",
    whisper: "whisper",
    whisper_to: "whisper to {color}",
    whisper_to_me: "whisper to you",
    err_not_found: "This room does not exist.",
    err_wrong_password: "Wrong password.",
    err_room_full: "The room is full.",
    err_forbidden: "You cannot enter this room.",
    err_kicked: "The owner removed you from the room.",
    err_removed: "You were removed from this room and cannot enter it again.",
    err_deleted: "The room was deleted.",
    err_left: "You left the room in another window.",
    err_rate_limited: "Too many requests. Please try again shortly.",
    err_rate_limited_wait: "Too many requests. Please try again in {secs} seconds.",
    err_internal: "Something went wrong on the server. Please try again shortly.",
    err_no_session: "Your browser sent no session, so you could not enter. Allow cookies and enter again.",
    err_title_empty: "Enter a room title.",
    err_title_long: "Room titles can be at most {max} characters long.",
    err_title_chars: "The room title contains characters that are not allowed.",
    err_capacity: "The capacity must be a whole number from 2 to 100.",
    err_password_long: "The password is too long.",
    failure_title: "Error",
    failure_text: "The request could not be handled. Please try again shortly.",
    search_label: "Search room titles",
    search_button: "Search",
    search_all: "All rooms",
    more_rooms: "Show more",
    more_loading: "Loading more rooms…",
    first_page: "Back to the start",
    no_matches: "No room title contains this text.",
    join_full: "Full",
    join_removed: "Removed",
    cannot_enter: "Cannot enter",
    room_counts: "{shown} of {total}",
    title_label: "Room title",
    max_label: "Capacity",
    max_hint: "From 2 to 100 people",
    password_label: "Password",
    password_hint: "Leave empty for a public room",
    err_search_long: "Search text can be at most {max} characters long.",
    err_bad_page: "That list address is not valid, so the list starts from the beginning.",
    err_invalid: "Please check what you entered.",
    err_password_empty: "Enter the password.",
    not_found_title: "Not found",
    not_found_route: "There is no page at {method} {path}.",
};

impl Texts {
    /// The lobby text for a refusal code from `/?error=CODE`; unknown codes show nothing, so a crafted link
    /// can never put its own words on the page.
    pub fn refusal(&self, code: &str) -> Option<&'static str> {
        Some(match code {
            "NOT_FOUND" => self.err_not_found,
            "WRONG_PASSWORD" => self.err_wrong_password,
            "ROOM_FULL" => self.err_room_full,
            "FORBIDDEN" => self.err_forbidden,
            "KICKED" => self.err_kicked,
            "REMOVED" => self.err_removed,
            "DELETED" => self.err_deleted,
            "LEFT" => self.err_left,
            "RATE_LIMITED" => self.err_rate_limited,
            "INTERNAL" => self.err_internal,
            "NO_SESSION" => self.err_no_session,
            _ => return None,
        })
    }

    /// The message for a rate-limited request, with the wait when it is known.
    pub fn rate_limited(&self, retry_after_secs: Option<u64>) -> String {
        match retry_after_secs {
            Some(secs) => self.err_rate_limited_wait.replace("{secs}", &secs.to_string()),
            None => self.err_rate_limited.to_owned(),
        }
    }

    /// The create form's message for a refused input.
    pub fn input_error(&self, e: &InputError) -> String {
        match e {
            InputError::EmptyTitle => self.err_title_empty.to_owned(),
            InputError::TitleTooLong { max } => self.err_title_long.replace("{max}", &max.to_string()),
            InputError::ForbiddenCharacters { .. } => self.err_title_chars.to_owned(),
            InputError::Capacity { .. } => self.err_capacity.to_owned(),
            InputError::PasswordTooLong { .. } => self.err_password_long.to_owned(),
            // Not produced by the create form's inputs; still a sentence in the reader's language.
            _ => self.err_invalid.to_owned(),
        }
    }

    /// `template` with the member's colour filled in (system events, GIF alt text).
    pub fn with_color(template: &str, color: &str) -> String {
        template.replace("{color}", color)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_preferring_english_gets_english() {
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr-FR, en;q=0.5")), Lang::En);
    }

    #[test]
    fn korean_is_the_default_and_wins_when_ranked_higher() {
        assert_eq!(Lang::from_accept_language(None), Lang::Ko);
        assert_eq!(Lang::from_accept_language(Some("de-DE")), Lang::Ko);
        assert_eq!(Lang::from_accept_language(Some("ko-KR,ko;q=0.9,en-US;q=0.8")), Lang::Ko);
        assert_eq!(Lang::from_accept_language(Some("en;q=0.3, ko;q=0.7")), Lang::Ko);
    }

    #[test]
    fn the_books_texts_are_kept_exactly() {
        assert_eq!(KO.refusal("NOT_FOUND"), Some("존재하지 않는 방입니다."));
        assert_eq!(KO.refusal("WRONG_PASSWORD"), Some("비밀번호가 틀렸습니다."));
        assert_eq!(KO.refusal("ROOM_FULL"), Some("허용 인원이 초과하였습니다."));
        assert_eq!(Texts::with_color(KO.joined, "#e0d66c"), "#e0d66c님이 입장하셨습니다.");
        assert_eq!(Texts::with_color(KO.left, "#e0d66c"), "#e0d66c님이 퇴장하셨습니다.");
    }

    #[test]
    fn exercise_notices_name_the_member_in_each_language() {
        assert_eq!(Texts::with_color(KO.owner_changed, "#e0d66c"), "#e0d66c님이 방장이 되었습니다.");
        assert_eq!(Texts::with_color(KO.kicked, "#e0d66c"), "#e0d66c님이 강퇴되었습니다.");
        assert_eq!(Texts::with_color(KO.typing, "#e0d66c"), "#e0d66c님이 입력 중…");
        assert_eq!(Texts::with_color(EN.typing, "#e0d66c"), "#e0d66c is typing…");
        assert_eq!(KO.refusal("REMOVED"), Some("방장이 내보낸 방에는 다시 들어갈 수 없습니다."));
    }

    #[test]
    fn a_rate_limit_refusal_says_how_long_to_wait_in_each_language() {
        assert_eq!(KO.rate_limited(Some(42)), "요청이 너무 많습니다. 42초 후에 다시 시도하세요.");
        assert_eq!(EN.rate_limited(Some(42)), "Too many requests. Please try again in 42 seconds.");
        assert_eq!(EN.rate_limited(None), EN.err_rate_limited);
    }

    #[test]
    fn a_room_socket_without_a_session_is_explained_in_the_lobby() {
        assert!(KO.refusal("NO_SESSION").is_some_and(|t| t.contains("쿠키")));
        assert!(EN.refusal("NO_SESSION").is_some_and(|t| t.contains("cookies")));
    }

    #[test]
    fn unknown_refusal_codes_show_nothing() {
        assert_eq!(KO.refusal("<script>"), None);
        assert_eq!(EN.refusal("not_found"), None);
    }
}
