#!/usr/bin/python3
"""Issue 11 part 3 on Matrix: a member's own language for private replies (`!lang`).

Run by tests/matrix/run.sh (suite "lang"): a Hearth of its own (data folder TMP/lang-data, so
its member_lang table can be read) and the members langann, langben and langcat, each in a
private chat with Hearth. `!lang de` makes ann's private replies German and nobody else's;
`!lang en` takes it back; a hostile code is refused kindly and stores nothing.
Prints 'N passed, M failed' last.
"""

import asyncio
import os
import sqlite3
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member  # noqa: E402
from test_hearth import BOT, HS, TMP, config_with_data, Hearth, reply_to, run_ordered  # noqa: E402

DATA = os.path.join(TMP, "lang-data")


def lang_config() -> str:
    return config_with_data("hearth-lang", DATA)


def stored() -> list:
    """The rows of Hearth's member_lang table (read beside the running Hearth)."""
    db = sqlite3.connect(f"file:{os.path.join(DATA, 'hearth.db')}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT member, lang FROM member_lang").fetchall()
    finally:
        db.close()


class Suite:
    def __init__(self):
        self.hearth = Hearth("hearth-lang", lang_config())
        self.alice = Member(HS, "langann", "annpw", os.path.join(TMP, "lang-ann"))
        self.bob = Member(HS, "langben", "benpw", os.path.join(TMP, "lang-ben"))
        self.carol = Member(HS, "langcat", "catpw", os.path.join(TMP, "lang-cat"))
        self.room = None
        self.dm = {}

    async def private_chat(self, m: Member) -> str:
        room = await m.create_room(invite=[BOT], is_direct=True)
        await m.wait_for_join(room, BOT, timeout=30)
        self.dm[m.user_id] = room
        return room

    async def ask(self, m: Member, text: str) -> str:
        cmd = await m.send(self.dm[m.user_id], text)
        return (await reply_to(m, self.dm[m.user_id], cmd)).body

    # -- tests, in order ----------------------------------------------------

    async def test_hearth_starts(self):
        self.hearth.start()

    async def test_private_chats(self):
        self.room = await self.private_chat(self.alice)
        await self.private_chat(self.bob)

    async def test_english_by_default(self):
        body = await self.ask(self.alice, "!lang")
        assert "English" in body and "de, en" in body, body
        body = await self.ask(self.alice, "!nosuchcommand")
        assert "I don't know that command" in body, body

    async def test_lang_de_makes_private_replies_german(self):
        body = await self.ask(self.alice, "!lang de")
        assert "Deutsch" in body, body
        body = await self.ask(self.alice, "!nosuchcommand")
        assert "Diesen Befehl kenne ich nicht" in body, body
        body = await self.ask(self.alice, "!help")
        assert "Das kann ich für dich tun" in body and "!learn" in body, body
        rows = stored()
        assert len(rows) == 1 and rows[0][1] == "de", rows
        assert "langann" not in rows[0][0], "the member's id is stored in the clear"

    async def test_other_members_keep_english(self):
        body = await self.ask(self.bob, "!nosuchcommand")
        assert "I don't know that command" in body, body

    async def test_hostile_codes_are_refused(self):
        for code in ("../../etc", "xx", "d" * 500, "de en"):
            body = await self.ask(self.alice, f"!lang {code}")
            assert "Diese Sprache kenne ich noch nicht" in body, body
        assert [r[1] for r in stored()] == ["de"], stored()

    async def test_lang_en_takes_it_back(self):
        body = await self.ask(self.alice, "!lang en")
        assert "I'll speak English with you" in body, body
        body = await self.ask(self.alice, "!nosuchcommand")
        assert "I don't know that command" in body, body

    async def run(self) -> int:
        order = [
            "test_hearth_starts", "test_private_chats", "test_english_by_default",
            "test_lang_de_makes_private_replies_german", "test_other_members_keep_english",
            "test_hostile_codes_are_refused", "test_lang_en_takes_it_back",
        ]
        return await run_ordered(self, order, "private chat", first_without_hearth=1)


if __name__ == "__main__":
    t0 = time.monotonic()
    sys.exit(asyncio.run(Suite().run()))
