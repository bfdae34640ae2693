"""Focus NFe, after its API documentation (https://focusnfe.com.br/doc/, section "NFe":
"Envio", "Consulta", "Cancelamento"; errors under "Códigos de erro"):

- HTTP Basic with the account's token as the user name and an empty password;
- `POST /v2/nfe?ref=REF` with the document as JSON (`natureza_operacao`, `data_emissao`,
  `tipo_documento` 1, `finalidade_emissao` 1 sale / 4 return with `notas_referenciadas:
  [{chave_nfe}]`, the recipient `nome_destinatario`, `cpf_destinatario`,
  `logradouro_destinatario`, `municipio_destinatario`, `uf_destinatario`, `cep_destinatario`,
  `valor_frete`, `valor_desconto`, `items: [{numero_item, codigo_produto, descricao, cfop,
  codigo_ncm, icms_origem, unidade_comercial, quantidade_comercial,
  valor_unitario_comercial, valor_bruto}]`) -> 202 `{ref, status: "processando_autorizacao"}`;
  the same `ref` again -> 422 `{codigo: "already_processed"}` (issuance is asynchronous);
- `GET /v2/nfe/REF` -> `{status: "processando_autorizacao" | "autorizado" |
  "erro_autorizacao" | "denegado" | "cancelado", chave_nfe: "NFe<44 digits>", numero, serie,
  caminho_danfe, mensagem_sefaz, valor_total_tributos?}`;
- `DELETE /v2/nfe/REF` `{justificativa}` (15 to 255 characters) -> `{status: "cancelado"}`;
- 403 `{codigo: "permissao_negada"}` for a wrong token, 404 `{codigo: "nao_encontrado"}`.
Taxes: the provider works out the approximate taxes from the NCM (Lei 12.741/2012); when the
answer carries no `valor_total_tributos` the order shows none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from application.fiscal import FiscalDocument, FiscalError, FiscalStatus, taxes_of
from infrastructure.gateways.payments.http import dumps

STATES = {
    "processando_autorizacao": "processing",
    "autorizado": "authorized",
    "erro_autorizacao": "rejected",
    "denegado": "rejected",
    "cancelado": "cancelled",
}


class FocusNfe:
    name = "focusnfe"

    def __init__(
        self, token: str, base_url: str = "https://api.focusnfe.com.br", timeout_s: float = 10
    ):
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), auth=(token, ""), timeout=timeout_s
        )

    def _absolute(self, path: str) -> str:
        """`caminho_danfe` is a path on the API's host ("Como fazer o download das NF-es
        emitidas", https://focusnfe.com.br/blog/como-fazer-o-download-das-nfes-emitidas/:
        https://api.focusnfe.com.br/arquivos/CNPJ/MES/DANFEs/CHAVE.pdf): a link to open."""
        return f"{self._client.base_url}".rstrip("/") + path if path.startswith("/") else path

    def _call(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        try:
            response = self._client.request(
                method,
                path,
                params=params or None,
                content=None if body is None else dumps(body),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as error:
            raise FiscalError(f"focusnfe: {type(error).__name__}", retryable=True) from None
        if response.status_code >= 500:
            raise FiscalError(f"focusnfe: server error {response.status_code}", retryable=True)
        try:
            answer = response.json()
        except ValueError:
            raise FiscalError("focusnfe: an answer that is not JSON", retryable=True) from None
        if not isinstance(answer, dict):
            raise FiscalError("focusnfe: an answer that is not a JSON object", retryable=True)
        if response.status_code in (401, 403):
            raise FiscalError(f"focusnfe: credentials refused ({answer.get('codigo')})")
        if response.status_code >= 400 and answer.get("codigo") != "already_processed":
            raise FiscalError(f"focusnfe: {answer.get('mensagem') or answer.get('codigo')}")
        return answer

    def issue(self, document: FiscalDocument) -> FiscalStatus:
        self._call("POST", "/v2/nfe", self._body(document), ref=document.reference)
        return self.status(document.reference)

    def status(self, reference: str) -> FiscalStatus:
        answer = self._call("GET", f"/v2/nfe/{reference}")
        state = STATES.get(str(answer.get("status")))
        if state is None:
            raise FiscalError(f"focusnfe: unknown status {answer.get('status')!r}", True)
        return FiscalStatus(
            state=state,
            access_key=str(answer.get("chave_nfe") or ""),
            number=str(answer.get("numero") or ""),
            series=str(answer.get("serie") or ""),
            danfe_url=self._absolute(str(answer.get("caminho_danfe") or "")),
            taxes=taxes_of(answer.get("valor_total_tributos") or "0"),
            message=str(answer.get("mensagem_sefaz") or ""),
        )

    def cancel(self, reference: str, justification: str) -> FiscalStatus:
        self._call("DELETE", f"/v2/nfe/{reference}", {"justificativa": justification})
        return self.status(reference)

    @staticmethod
    def _body(document: FiscalDocument) -> dict[str, Any]:
        r = document.recipient
        body: dict[str, Any] = {
            "natureza_operacao": document.nature,
            "data_emissao": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            "tipo_documento": 0 if document.is_return else 1,
            "finalidade_emissao": 4 if document.is_return else 1,
            "nome_destinatario": r.name,
            "cpf_destinatario": r.cpf,
            "logradouro_destinatario": r.line1,
            "municipio_destinatario": r.city,
            "uf_destinatario": r.state,
            "cep_destinatario": r.postal_code.replace("-", ""),
            "valor_frete": document.freight.amount,
            "valor_desconto": document.discount.amount,
            "items": [
                {
                    "numero_item": n,
                    "codigo_produto": item.sku,
                    "descricao": item.description,
                    "cfop": item.cfop,
                    "codigo_ncm": item.ncm,
                    "icms_origem": item.origin,
                    "unidade_comercial": "UN",
                    "quantidade_comercial": item.quantity,
                    "valor_unitario_comercial": item.unit_price.amount,
                    "valor_bruto": item.unit_price.amount * item.quantity,
                }
                for n, item in enumerate(document.items, start=1)
            ],
        }
        if document.refers_to:
            body["notas_referenciadas"] = [{"chave_nfe": document.refers_to}]
        return body
