"""The console's words in Portuguese (the default) and English."""

from __future__ import annotations

from api.console.i18n_back_office import BACK_OFFICE_PAIRS
from api.console.i18n_reviews import REVIEW_PAIRS

LANGUAGES = ("pt", "en")
DEFAULT = "pt"

_PAIRS: dict[str, tuple[str, str]] = {
    "console": ("Console de operações", "Operations console"),
    "home": ("Início", "Home"),
    "orders": ("Pedidos", "Orders"),
    "order": ("Pedido", "Order"),
    "audit": ("Auditoria", "Audit"),
    "read_side": ("Lado de leitura", "Read side"),
    "analytics": ("Análises", "Analytics"),
    "lgpd": ("LGPD", "LGPD"),
    "sign_in": ("Entrar", "Sign in"),
    "sign_out": ("Sair", "Sign out"),
    "signed_in_as": ("Conectado como", "Signed in as"),
    "paste_token": ("Cole seu token JWT", "Paste your JWT"),
    "token": ("Token", "Token"),
    "dev_login": (
        "Entrada de desenvolvimento (servidores embutidos)",
        "Dev login (embedded servers)",
    ),
    "as_role": ("como", "as"),
    "role_admin": ("administrador", "admin"),
    "role_auditor": ("auditor", "auditor"),
    "role_customer": ("cliente", "customer"),
    "welcome": ("O que você pode ver:", "What you can see:"),
    "status": ("Situação", "Status"),
    "any": ("qualquer", "any"),
    "from": ("De", "From"),
    "until": ("Até", "Until"),
    "customer": ("Cliente", "Customer"),
    "filter": ("Filtrar", "Filter"),
    "created": ("Criado em", "Created"),
    "total": ("Total", "Total"),
    "subtotal": ("Subtotal", "Subtotal"),
    "discount": ("Desconto", "Discount"),
    "shipping": ("Frete", "Shipping"),
    "page": ("Página", "Page"),
    "previous": ("Anterior", "Previous"),
    "next": ("Próxima", "Next"),
    "of": ("de", "of"),
    "no_orders": ("Nenhum pedido.", "No orders."),
    "lines": ("Itens", "Lines"),
    "sku": ("SKU", "SKU"),
    "product": ("Produto", "Product"),
    "quantity": ("Qtd.", "Qty"),
    "unit_price": ("Preço unitário", "Unit price"),
    "line_total": ("Total do item", "Line total"),
    "totals": ("Totais", "Totals"),
    "payment": ("Pagamento", "Payment"),
    "refunded": ("Reembolsado", "Refunded"),
    "coupon": ("Cupom", "Coupon"),
    "shipping_method": ("Modalidade de envio", "Shipping method"),
    "carrier": ("Transportadora", "Carrier"),
    "tracking_code": ("Código de rastreio", "Tracking code"),
    "cancellation_reason": ("Motivo do cancelamento", "Cancellation reason"),
    "cancellation_detail": ("Detalhe do cancelamento", "Cancellation detail"),
    "erased_words": ("(apagado a pedido do titular)", "(erased at the data subject's request)"),
    "decline_reason": ("Motivo da recusa", "Decline reason"),
    "returns": ("Devoluções", "Returns"),
    "return_id": ("Devolução", "Return"),
    "refund": ("Reembolso", "Refund"),
    "no_payment": ("Sem pagamento ainda.", "No payment yet."),
    "timeline": ("Linha do tempo da saga", "Saga timeline"),
    "position": ("Posição", "Position"),
    "event": ("Evento", "Event"),
    "actor": ("Ator", "Actor"),
    "correlation": ("Correlação", "Correlation"),
    "causation": ("Causa", "Causation"),
    "compensation": ("compensação", "compensation"),
    "raw_json": ("JSON bruto", "raw JSON"),
    "history": ("Histórico do agregado", "Aggregate history"),
    "carbon": ("Pegada de carbono", "Carbon footprint"),
    "verify_chain": ("Verificar a cadeia de auditoria", "Verify the audit chain"),
    "verify": ("Verificar", "Verify"),
    "aggregate_id": ("ID do agregado", "Aggregate id"),
    "as_of": ("No instante (ISO 8601, com fuso)", "At the instant (ISO 8601, with zone)"),
    "version": ("Versão", "Version"),
    "show": ("Mostrar", "Show"),
    "events": ("Eventos", "Events"),
    "state": ("Estado", "State"),
    "followers": ("Seguidores do log", "Log followers"),
    "follower": ("Seguidor", "Follower"),
    "kind": ("Tipo", "Kind"),
    "generation": ("Geração", "Generation"),
    "head": ("Cabeça do log", "Log head"),
    "lag": ("Atraso", "Lag"),
    "owner": ("Dono", "Owner"),
    "runner_state": ("Execução", "Runner"),
    "parked": ("Eventos estacionados", "Parked events"),
    "error": ("Erro", "Error"),
    "retry": ("Tentar de novo", "Retry"),
    "rebuild": ("Reconstruir", "Rebuild"),
    "no_parked": ("Nenhum evento estacionado.", "No parked events."),
    "retried_ok": ("Evento reprocessado com sucesso.", "Event reprocessed."),
    "retried_failed": ("O evento falhou de novo:", "The event failed again:"),
    "retry_help": (
        "Tentar de novo aplica o efeito do evento agora, sobre os documentos atuais; "
        "quando a ordem importa, reconstrua.",
        "A retry applies the event's effect now, on top of the current documents; when "
        "order matters, rebuild instead.",
    ),
    "job": ("Tarefa", "Job"),
    "running": ("em andamento", "running"),
    "done": ("concluída", "done"),
    "failed": ("falhou", "failed"),
    "progress": ("Progresso", "Progress"),
    "result": ("Resultado", "Result"),
    "chain_ok": ("Cadeia íntegra", "Chain intact"),
    "chain_broken": ("Cadeia QUEBRADA na posição", "Chain BROKEN at position"),
    "events_checked": ("eventos verificados", "events checked"),
    "globally_chained_to": ("Cadeia global até a posição", "Global chain up to position"),
    "not_yet_global": (
        "eventos ainda fora da cadeia global (ela avança em lotes)",
        "events not yet in the global chain (it advances in batches)",
    ),
    "sales_by_day": ("Vendas por dia (R$)", "Sales by day (BRL)"),
    "sales_by_category": ("Vendas por categoria (R$)", "Sales by category (BRL)"),
    "co2_by_category": ("CO₂ por categoria (kg CO₂e)", "CO₂ by category (kg CO₂e)"),
    "top_products": ("Produtos mais vendidos (unidades)", "Top products (units)"),
    "top_customers": (
        "Clientes que consentem com análises (R$)",
        "Customers who consent to analytics (BRL)",
    ),
    "no_data": ("Sem dados ainda.", "No data yet."),
    "lgpd_requests": ("Pedidos de titulares (LGPD)", "Data-subject requests (LGPD)"),
    "lgpd_export": ("Exportar dados pessoais", "Export personal data"),
    "lgpd_erase": ("Apagar dados pessoais", "Erase personal data"),
    "customer_id": ("ID do cliente", "Customer id"),
    "lgpd_erase_confirm": (
        "Confirmo: destruir a chave do titular (irreversível)",
        "I confirm: destroy the subject's key (irreversible)",
    ),
    "lgpd_requests_missing": (
        "O registro de pedidos com prazo (15 dias) ainda não existe neste servidor; "
        "o que existe: exportação e eliminação, registradas como eventos do titular.",
        "The register of requests with deadlines (15 days) does not exist on this server "
        "yet; what exists: export and erasure, recorded as the subject's events.",
    ),
    "erasure": ("Eliminação", "Erasure"),
    "request": ("Pedido", "Request"),
    "subject": ("Titular", "Subject"),
    "received": ("Recebido", "Received"),
    "deadline": ("Prazo (15 dias)", "Deadline (15 days)"),
    "completed": ("Concluído", "Completed"),
    "time_to_complete": ("Tempo até concluir", "Time to complete"),
    "open_request": ("em aberto", "open"),
    "urgency_overdue": ("VENCIDO", "OVERDUE"),
    "urgency_near": ("vence em breve", "due soon"),
    "no_requests": ("Nenhum pedido de titular.", "No data-subject requests."),
    "error_title": ("Não foi possível", "That did not work"),
    "back_home": ("Voltar ao início", "Back to the console"),
    "language": ("Idioma", "Language"),
}

# Signing in with an account (issue 25).
_PAIRS.update(
    {
        "email": ("E-mail", "E-mail"),
        "password": ("Senha", "Password"),
        "totp_code": ("Código do autenticador", "Authenticator code"),
        "or_paste": ("Ou, em desenvolvimento, cole um token", "Or, in development, paste a token"),
        "bad_credentials": (
            "E-mail, senha ou código incorretos.",
            "Wrong e-mail, password or code.",
        ),
        "set_password": ("Escolha sua senha", "Choose your password"),
        "password_set": ("Senha definida", "Password set"),
        "totp_enrol": (
            "Adicione este segredo ao seu aplicativo autenticador (TOTP) e guarde os códigos "
            "de recuperação: eles não serão mostrados de novo.",
            "Add this secret to your authenticator app (TOTP) and keep the recovery codes: "
            "they will not be shown again.",
        ),
        "totp_secret": ("Segredo TOTP", "TOTP secret"),
        "recovery_codes": ("Códigos de recuperação", "Recovery codes"),
    }
)
_PAIRS.update(BACK_OFFICE_PAIRS)  # the back office's words (issue 26)
_PAIRS.update(REVIEW_PAIRS)  # reviews moderation (issue 28)

MESSAGES: dict[str, dict[str, str]] = {
    lang: {key: pair[i] for key, pair in _PAIRS.items()} for i, lang in enumerate(LANGUAGES)
}


def pick(requested: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The `lang` query parameter, else the cookie, else the browser's first preference."""
    for candidate in (requested, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT
