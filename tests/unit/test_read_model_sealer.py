"""Issue 21: customers' words reach read models only sealed under their own key."""

from __future__ import annotations

import json
import uuid

from application.keys import ReadModelSealer
from domain.personal import PersonalData, free_text, opened_words
from infrastructure.store.memory import MemoryKeyStore


def sealer() -> tuple[ReadModelSealer, MemoryKeyStore]:
    keys = MemoryKeyStore(f"sealer-{uuid.uuid4()}")
    return ReadModelSealer(keys), keys


def test_sealed_words_hold_no_plaintext_and_open_for_their_subject_only():
    words, keys = sealer()
    keys.key_for("ana")
    keys.key_for("bia")
    sealed = words.seal(PersonalData("ana", {"text": "mudei de ideia"}))
    assert "mudei" not in json.dumps(sealed)
    assert opened_words({"sealed": sealed}, words) == "mudei de ideia"
    moved = {**sealed, "subject": "bia"}  # ciphertext moved to another subject
    assert opened_words({"sealed": moved}, words) == {"erased": True}


def test_the_same_words_seal_to_the_same_bytes_so_rebuilds_compare_equal():
    words, keys = sealer()
    keys.key_for("ana")
    data = free_text("ana", "veio riscada")
    assert data is not None
    assert words.seal(data) == words.seal(data)


def test_once_the_key_is_destroyed_the_words_read_as_erased():
    words, keys = sealer()
    keys.key_for("ana")
    sealed = words.seal(PersonalData("ana", {"text": "segredo"}))
    keys.destroy("ana")
    assert opened_words({"sealed": sealed}, words) == {"erased": True}
    late = words.seal(PersonalData("ana", {"text": "tarde demais"}))  # erased meanwhile
    assert "tarde" not in json.dumps(late)
    assert opened_words({"sealed": late}, words) == {"erased": True}


def test_plain_values_pass_through_and_no_sealer_never_shows_sealed_words():
    assert opened_words("texto antigo", None) == "texto antigo"
    assert opened_words(None, None) is None
    assert opened_words({"sealed": {"subject": "ana"}}, None) == {"erased": True}
