// Extension points of the room page for features built on top of it (member list, whisper target,
// kick buttons, typing indicator). A module loaded by the room page registers here before the
// subscription starts; room.js calls every hook for every update of the `room` subscription.

export const hooks = {
  /** Functions called with each `room` subscription update (RoomEvent, RoomResync, RoomClosed, …). */
  onUpdate: [],
  /** Extra selections inside `room(id, after) { … }`, e.g. `... on MemberTyping { member { id } }`. */
  extraSelection: [],
  /** Functions called with 'online' | 'offline' whenever the live link changes. */
  onStatus: [],
};
