"""A local Focus NFe, after its API documentation (https://focusnfe.com.br/doc/, "NFe":
"Envio", "Consulta", "Cancelamento", "Códigos de erro"): HTTP Basic with the token as user;
`POST /v2/nfe?ref=` answers 202 `processando_autorizacao` and authorizes on the next
consultation (as the SEFAZ does asynchronously), with a valid 44-digit access key (módulo
11) and the approximate taxes of Lei 12.741/2012 (here 13.45 % of the items' value);
a recipient without a CPF is `erro_autorizacao` (the SEFAZ's rejection 233-like: "CPF do
destinatário inválido"); `DELETE /v2/nfe/REF` needs a `justificativa` of 15 to 255
characters and an authorized note; unknown refs are 404 `nao_encontrado`.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from domain.invoice import access_key_check_digit
from tests.fakes.base import FakeProvider, Request

CNPJ = "12345678000195"
TAX_RATE = Decimal("0.1345")


def access_key(number: int) -> str:
    first = f"35{2612}{CNPJ}55001{number:09d}1{number * 7919 % 10**8:08d}"
    return first + str(access_key_check_digit(first))


class FakeFocusNfe(FakeProvider):
    key_header = "x-no-idempotency"  # the `ref` is what makes a repeat harmless

    def __init__(self, token: str = "focus-token"):
        super().__init__()
        self.token = token
        self.notes: dict[str, dict[str, Any]] = {}
        self.route("POST", "/v2/nfe", self.send)
        self.route("GET", r"/v2/nfe/(?P<ref>[^/]+)", self.consult)
        self.route("DELETE", r"/v2/nfe/(?P<ref>[^/]+)", self.cancel)

    def _dispatch(self, request: Request) -> tuple[int, bytes]:
        expected = "Basic " + base64.b64encode(f"{self.token}:".encode()).decode()
        if request.headers.get("authorization") != expected:
            return 403, b'{"codigo": "permissao_negada", "mensagem": "Access token invalido"}'
        return super()._dispatch(request)

    def send(self, r: Request) -> tuple[int, dict[str, Any]]:
        ref = r.query["ref"]
        if ref in self.notes:
            return 422, {"codigo": "already_processed", "mensagem": "Nota já processada"}
        self.notes[ref] = {"request": r.params, "status": "processando_autorizacao"}
        self.ledger.append({"op": "issue", "ref": ref})
        return 202, {"ref": ref, "status": "processando_autorizacao"}

    def consult(self, r: Request) -> tuple[int, dict[str, Any]]:
        note = self.notes.get(r.match["ref"] if r.match else "")
        if note is None:
            return 404, {"codigo": "nao_encontrado", "mensagem": "Nota fiscal não encontrada"}
        if note["status"] == "processando_autorizacao":
            self._authorize(note)
        return 200, {k: v for k, v in note.items() if k != "request"}

    def _authorize(self, note: dict[str, Any]) -> None:
        body = note["request"]
        if not str(body.get("cpf_destinatario") or "").strip():
            note.update(status="erro_autorizacao", mensagem_sefaz="CPF do destinatário inválido")
            return
        number = len([n for n in self.notes.values() if "numero" in n]) + 1
        key = access_key(number)
        value = sum(Decimal(str(i["valor_bruto"])) for i in body["items"])
        note.update(
            status="autorizado",
            mensagem_sefaz="Autorizado o uso da NF-e",
            chave_nfe=f"NFe{key}",
            numero=str(number),
            serie="1",
            caminho_danfe=f"/arquivos_development/{CNPJ}/DANFEs/{key}.pdf",
            valor_total_tributos=str((value * TAX_RATE).quantize(Decimal("0.01"))),
        )

    def cancel(self, r: Request) -> tuple[int, dict[str, Any]]:
        note = self.notes.get(r.match["ref"] if r.match else "")
        if note is None:
            return 404, {"codigo": "nao_encontrado", "mensagem": "Nota fiscal não encontrada"}
        reason = str(r.params.get("justificativa", ""))
        if not 15 <= len(reason) <= 255:
            return 400, {"codigo": "requisicao_invalida", "mensagem": "justificativa: 15 a 255"}
        if note["status"] != "autorizado":
            return 422, {"codigo": "nfe_nao_autorizada", "mensagem": "Nota não autorizada"}
        note["status"] = "cancelado"
        self.ledger.append({"op": "cancel", "ref": r.match["ref"] if r.match else ""})
        return 200, {"status": "cancelado", "status_sefaz": "135"}
