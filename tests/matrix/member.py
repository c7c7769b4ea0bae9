#!/usr/bin/python3
"""A person's Matrix client for Hearth's integration tests.

Built on Debian's python3-matrix-nio (0.20) with python3-olm, so encrypted
rooms use real Olm/Megolm. Run with /usr/bin/python3 (the first python3 on
PATH may lack nio).

The client never runs a background sync loop: every method that needs fresh
state calls sync_once() itself, and every timeline event seen is kept in order
per room, so a test can find "the first message from the bot after my
command" by its place in the timeline.

    m = Member("http://127.0.0.1:18008", "alice", "alicepw", "/tmp/alice-store")
    await m.login()
    room = await m.create_room("circle", invite=["@hearth:localhost"], encrypted=True)
    cmd = await m.send(room, "!checkin")
    reply = await m.wait_for_message(room, sender="@hearth:localhost", after_event_id=cmd)
    print(reply.body)
    await m.close()
"""

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import quote

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomMessage,
    RoomPutStateResponse,
    RoomSendResponse,
    SyncResponse,
)
from nio.exceptions import EncryptionError

SERVER_NAME = "localhost"
# Synapse returns at most 10 timeline events per room per sync by default; ask
# for more so a burst of bot replies never leaves a gap between two syncs.
SYNC_FILTER = {"room": {"timeline": {"limit": 200}}}


class MemberError(Exception):
    """A request the test depends on failed; the message says which and why."""


@dataclass
class Message:
    """One m.room.message seen in a room's timeline (decrypted if it was)."""

    room_id: str
    event_id: str
    sender: str
    msgtype: str  # m.text, m.notice, m.file, ...
    body: str
    content: Dict[str, Any]  # full content: formatted_body, m.relates_to, ...
    encrypted: bool
    server_ts: int
    event: Any = field(repr=False, default=None)  # the nio event

    @property
    def thread_root(self) -> Optional[str]:
        rel = self.content.get("m.relates_to") or {}
        return rel.get("event_id") if rel.get("rel_type") == "m.thread" else None

    @property
    def in_reply_to(self) -> Optional[str]:
        rel = self.content.get("m.relates_to") or {}
        return (rel.get("m.in_reply_to") or {}).get("event_id")


def user_id(name: str) -> str:
    """'alice' -> '@alice:localhost'; a full user id is returned unchanged."""
    return name if name.startswith("@") else f"@{name}:{SERVER_NAME}"


class Member:
    """One person with one device, logged in with a password."""

    def __init__(self, homeserver: str, user: str, password: str, store_dir: str,
                 device_name: str = "hearth-test"):
        self.homeserver = homeserver.rstrip("/")
        self.user_id = user_id(user)
        self.password = password
        self.store_dir = store_dir
        self.device_name = device_name
        os.makedirs(store_dir, exist_ok=True)
        self.client = self._new_client()
        # room id -> every timeline event seen, in order (nio event objects)
        self.timelines: Dict[str, List[Any]] = {}
        self.invites: Dict[str, Dict[str, Any]] = {}  # room id -> {inviter, is_direct}
        self._invites_taken: set = set()
        self.direct: Dict[str, List[str]] = {}  # our m.direct account data

    # -- session ---------------------------------------------------------

    def _new_client(self) -> AsyncClient:
        # nio retries connection errors and 429s forever by default: a test
        # against a dead server would hang. Give up after a few tries instead.
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True,
                                   max_timeouts=3, max_limit_exceeded=5,
                                   request_timeout=30)
        return AsyncClient(self.homeserver, self.user_id, store_path=self.store_dir,
                           config=config)

    async def login(self, reuse_session: bool = True) -> None:
        """Log in, upload device keys, do a first sync.

        With reuse_session, a session saved in store_dir by an earlier login
        (same user) is restored instead: same device, same Olm account, no
        new device piling up. A fresh store_dir always logs in anew.
        """
        saved = os.path.join(self.store_dir, "session.json")
        session = None
        if reuse_session and os.path.exists(saved):
            with open(saved) as f:
                session = json.load(f)
        if session and session.get("user_id") == self.user_id:
            self.client.restore_login(self.user_id, session["device_id"],
                                      session["access_token"])
            try:  # a server set up afresh no longer knows the token
                await self._api("GET", "/account/whoami")
            except MemberError:
                # Start over: the stored Olm account belongs to a device the
                # server forgot (nio would reuse its device id and never
                # upload its keys again).
                session = None
                await self.client.close()
                for name in os.listdir(self.store_dir):
                    if name.startswith(self.user_id + "_") or name == "session.json":
                        os.remove(os.path.join(self.store_dir, name))
                self.client = self._new_client()
        if not (session and session.get("user_id") == self.user_id):
            resp = await self.client.login(self.password, device_name=self.device_name)
            if not isinstance(resp, LoginResponse):
                raise MemberError(f"{self.user_id}: login failed: {resp}")
            with open(saved, "w") as f:
                json.dump({"user_id": self.user_id, "device_id": resp.device_id,
                           "access_token": resp.access_token}, f)
        await self._keys_housekeeping()
        await self.sync_once(timeout_ms=0)

    async def close(self) -> None:
        await self.client.close()

    @property
    def device_id(self) -> str:
        return self.client.device_id

    async def _keys_housekeeping(self) -> None:
        # What nio's sync_forever does between syncs; we do it after each sync.
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())
        await self.client.send_to_device_messages()

    async def sync_once(self, timeout_ms: int = 0) -> SyncResponse:
        """One /sync; records timelines, invites and m.direct; handles keys."""
        resp = await self.client.sync(timeout=timeout_ms, sync_filter=SYNC_FILTER)
        if not isinstance(resp, SyncResponse):
            raise MemberError(f"{self.user_id}: sync failed: {resp}")
        for room_id, info in resp.rooms.join.items():
            self.timelines.setdefault(room_id, []).extend(info.timeline.events)
        for room_id, info in resp.rooms.invite.items():
            inv = {"inviter": None, "is_direct": False}
            for ev in info.invite_state:
                if isinstance(ev, InviteMemberEvent) and ev.state_key == self.user_id \
                        and ev.membership == "invite":
                    inv = {"inviter": ev.sender, "is_direct": bool(ev.content.get("is_direct"))}
            self.invites[room_id] = inv
        for room_id in list(resp.rooms.join) + list(resp.rooms.leave):
            self.invites.pop(room_id, None)
        for ev in getattr(resp, "account_data_events", []) or []:
            if getattr(ev, "type", None) == "m.direct":
                self.direct = dict(ev.content)
        await self._keys_housekeeping()
        return resp

    # -- raw requests for what nio 0.20 lacks ----------------------------

    async def _api(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        resp = await self.client.send(
            method, "/_matrix/client/v3" + path,
            json.dumps(body) if body is not None else None,
            headers={"Authorization": f"Bearer {self.client.access_token}",
                     "Content-Type": "application/json"})
        data = await resp.json(content_type=None)
        if resp.status >= 400:
            raise MemberError(f"{self.user_id}: {method} {path}: {resp.status} {data}")
        return data

    # -- rooms -------------------------------------------------------------

    async def create_room(self, name: Optional[str] = None, invite: List[str] = (),
                          encrypted: bool = False,
                          power_levels: Optional[Dict[str, int]] = None,
                          is_direct: bool = False, topic: Optional[str] = None) -> str:
        """Create a private (invite-only) room and return its id.

        power_levels: {user: level} for the users map; the creator keeps 100.
        is_direct: mark the invites as a direct chat (and record it in m.direct).
        """
        initial_state = []
        if encrypted:
            initial_state.append({"type": "m.room.encryption", "state_key": "",
                                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        override = None
        if power_levels:
            users = {self.user_id: 100}
            users.update({user_id(u): lvl for u, lvl in power_levels.items()})
            override = {"users": users}
        invite = [user_id(u) for u in invite]
        resp = await self.client.room_create(
            name=name, topic=topic, invite=invite, is_direct=is_direct,
            initial_state=initial_state, power_level_override=override)
        if not isinstance(resp, RoomCreateResponse):
            raise MemberError(f"{self.user_id}: create_room failed: {resp}")
        if is_direct:
            for u in invite:
                self.direct.setdefault(u, []).append(resp.room_id)
            await self._api("PUT", f"/user/{quote(self.user_id)}/account_data/m.direct",
                            self.direct)
        await self.wait_until(lambda: resp.room_id in self.client.rooms)
        return resp.room_id

    async def invite(self, room: str, user: str) -> None:
        resp = await self.client.room_invite(room, user_id(user))
        if type(resp).__name__.endswith("Error"):
            raise MemberError(f"{self.user_id}: invite {user} to {room} failed: {resp}")

    async def join(self, room: str, retries: int = 5) -> str:
        """Join a room by id or alias; retries the invite/join race (403)."""
        for attempt in range(retries):
            resp = await self.client.join(room)
            if not isinstance(resp, JoinError):
                await self.wait_until(lambda: resp.room_id in self.client.rooms)
                return resp.room_id
            if attempt + 1 < retries:
                await asyncio.sleep(0.2 * (attempt + 1))
        raise MemberError(f"{self.user_id}: join {room} failed: {resp}")

    async def leave(self, room: str) -> None:
        resp = await self.client.room_leave(room)
        if type(resp).__name__.endswith("Error"):
            raise MemberError(f"{self.user_id}: leave {room} failed: {resp}")
        await self.sync_once()

    async def set_power_level(self, room: str, user: str, level: int) -> None:
        resp = await self.client.room_get_state_event(room, "m.room.power_levels")
        if not isinstance(resp, RoomGetStateEventResponse):
            raise MemberError(f"{self.user_id}: read power levels of {room}: {resp}")
        content = dict(resp.content)
        content.setdefault("users", {})[user_id(user)] = level
        put = await self.client.room_put_state(room, "m.room.power_levels", content)
        if not isinstance(put, RoomPutStateResponse):
            raise MemberError(f"{self.user_id}: set power level in {room}: {put}")

    async def wait_for_join(self, room: str, user: str, timeout: float = 20) -> None:
        """Wait until this client has seen user join room. Do this before
        sending in an encrypted room, or the room key skips the new device."""
        uid = user_id(user)

        def joined():
            r = self.client.rooms.get(room)
            return r is not None and uid in r.users and uid not in r.invited_users

        await self.wait_until(joined, timeout, what=f"join of {uid} in {room}")

    def members(self, room: str) -> List[str]:
        """Joined members of a room as this client last synced them."""
        r = self.client.rooms.get(room)
        return sorted(u for u in r.users if u not in r.invited_users) if r else []

    async def wait_for_invite(self, timeout: float = 20, inviter: Optional[str] = None) -> str:
        """Wait for an invite not returned before (optionally from inviter); its room id."""
        want = user_id(inviter) if inviter else None

        def pending():
            for room_id, inv in self.invites.items():
                if room_id not in self._invites_taken and (want is None or inv["inviter"] == want):
                    return room_id
            return None

        room_id = await self.wait_until(pending, timeout, what="an invite")
        self._invites_taken.add(room_id)
        return room_id

    def dm_rooms(self) -> List[str]:
        """Rooms that are direct chats: in our m.direct, or invited with is_direct."""
        rooms = {r for ids in self.direct.values() for r in ids}
        rooms.update(r for r, inv in self.invites.items() if inv["is_direct"])
        return sorted(rooms)

    # -- messages ----------------------------------------------------------

    async def send(self, room: str, text: str, thread_root: Optional[str] = None,
                   reply_to: Optional[str] = None, notice: bool = False,
                   html: Optional[str] = None) -> str:
        """Send a message (encrypted if the room is) and return its event id.

        thread_root: post in that thread (m.thread, falling back to a reply to
        reply_to or the root); reply_to alone: a plain rich reply.
        """
        content: Dict[str, Any] = {"msgtype": "m.notice" if notice else "m.text", "body": text}
        if html is not None:
            content.update(format="org.matrix.custom.html", formatted_body=html)
        if thread_root:
            content["m.relates_to"] = {
                "rel_type": "m.thread", "event_id": thread_root, "is_falling_back": True,
                "m.in_reply_to": {"event_id": reply_to or thread_root}}
        elif reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        if room not in self.client.rooms:
            await self.sync_once()
        if self.client.should_query_keys:  # a new member's devices
            await self.client.keys_query()
        # nio 0.20 refuses to encrypt for unverified devices unless told to
        # ignore them; it still shares the room key with them.
        resp = await self.client.room_send(room, "m.room.message", content,
                                           ignore_unverified_devices=True)
        if not isinstance(resp, RoomSendResponse):
            raise MemberError(f"{self.user_id}: send to {room} failed: {resp}")
        return resp.event_id

    def messages(self, room: str) -> List[Message]:
        """Every message seen so far in a room, in timeline order."""
        self._retry_decryption(room)
        return [m for m in (self._as_message(room, ev) for ev in self.timelines.get(room, []))
                if m is not None]

    async def wait_for_message(self, room: str, sender: Optional[str] = None,
                               after_event_id: Optional[str] = None,
                               predicate: Optional[Callable[[Message], bool]] = None,
                               timeout: float = 20) -> Message:
        """The first message (m.text, m.notice, ...) after after_event_id in the
        room's timeline from sender that satisfies predicate; waits up to timeout s.

        after_event_id is usually the id returned by send(): the reply is the
        first matching message after it. Without it, any message seen matches.
        """
        want = user_id(sender) if sender else None

        def find():
            events = self.timelines.get(room, [])
            start = 0
            if after_event_id is not None:
                ids = [ev.event_id for ev in events]
                if after_event_id not in ids:
                    return None  # our own event has not come back through sync yet
                start = ids.index(after_event_id) + 1
            self._retry_decryption(room)
            for ev in events[start:]:
                msg = self._as_message(room, ev)
                if msg and (want is None or msg.sender == want) \
                        and (predicate is None or predicate(msg)):
                    return msg
            return None

        desc = f"message from {want or 'anyone'} in {room}" + \
            (f" after {after_event_id}" if after_event_id else "")
        return await self.wait_until(find, timeout, what=desc)

    def _retry_decryption(self, room: str) -> None:
        # A Megolm event seen before its room key arrived: try again now.
        events = self.timelines.get(room, [])
        for i, ev in enumerate(events):
            if isinstance(ev, MegolmEvent):
                try:
                    events[i] = self.client.decrypt_event(ev)
                except (EncryptionError, Exception):
                    pass

    def _as_message(self, room: str, ev: Any) -> Optional[Message]:
        if not isinstance(ev, RoomMessage):
            return None
        src = ev.source or {}
        content = src.get("content", {})
        return Message(room_id=room, event_id=ev.event_id, sender=ev.sender,
                       msgtype=content.get("msgtype", ""), body=content.get("body", ""),
                       content=content, encrypted=bool(getattr(ev, "decrypted", False)),
                       server_ts=ev.server_timestamp, event=ev)

    def undecryptable(self, room: str) -> List[MegolmEvent]:
        """Encrypted events in a room we still cannot decrypt."""
        self._retry_decryption(room)
        return [ev for ev in self.timelines.get(room, []) if isinstance(ev, MegolmEvent)]

    # -- devices -----------------------------------------------------------

    async def trust_all_devices(self, user: str) -> int:
        """Mark every known device of user as verified; returns how many."""
        uid = user_id(user)
        await self.sync_once()
        if self.client.should_query_keys:
            await self.client.keys_query()
        n = 0
        for dev in self.client.device_store.active_user_devices(uid):
            if not self.client.olm.is_device_verified(dev):
                self.client.verify_device(dev)
            n += 1
        return n

    # -- helpers -----------------------------------------------------------

    async def wait_until(self, check: Callable[[], Any], timeout: float = 20,
                         what: str = "the room") -> Any:
        """Sync until check() returns something truthy and return it; MemberError
        (naming what) on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise MemberError(f"{self.user_id}: no {what} within {timeout} s")
            await self.sync_once(timeout_ms=int(min(left, 1.0) * 1000))


# -- a tiny CLI for poking at a test server by hand ------------------------

async def _cli(args: argparse.Namespace) -> int:
    store = args.store or f"/tmp/hearth-member-{args.user.strip('@').split(':')[0]}"
    m = Member(args.hs, args.user, args.password, store)
    try:
        await m.login()
        if args.cmd == "send":
            print(await m.send(args.room, args.text))
        elif args.cmd == "create":
            print(await m.create_room(args.name, invite=args.invite, encrypted=args.encrypted))
        elif args.cmd == "join":
            print(await m.join(args.room))
        elif args.cmd == "wait":
            msg = await m.wait_for_message(args.room, sender=args.sender,
                                           after_event_id=args.after, timeout=args.timeout)
            print(f"{msg.sender} [{msg.msgtype}] {msg.body}")
        elif args.cmd == "invites":
            await m.sync_once()
            for room, inv in m.invites.items():
                print(room, inv["inviter"], "direct" if inv["is_direct"] else "")
    finally:
        await m.close()
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description="A test member's Matrix client (nio + olm).")
    p.add_argument("--hs", default="http://127.0.0.1:18008")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--store", help="crypto store folder (default /tmp/hearth-member-USER)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send"); s.add_argument("room"); s.add_argument("text")
    s = sub.add_parser("create"); s.add_argument("name")
    s.add_argument("--invite", action="append", default=[])
    s.add_argument("--encrypted", action="store_true")
    s = sub.add_parser("join"); s.add_argument("room")
    s = sub.add_parser("wait"); s.add_argument("room"); s.add_argument("--sender")
    s.add_argument("--after"); s.add_argument("--timeout", type=float, default=20)
    sub.add_parser("invites")
    return asyncio.run(_cli(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
