"""The words of the reviews moderation page (issue 28). Merged into api.console.i18n's
MESSAGES."""

from __future__ import annotations

REVIEW_PAIRS: dict[str, tuple[str, str]] = {
    "reviews": ("Avaliações", "Reviews"),
    "review_queue": ("Fila", "Queue"),
    "review_queue_pending": ("A moderar", "To moderate"),
    "review_queue_reported": ("Denunciadas", "Reported"),
    "review_rating": ("Nota", "Rating"),
    "review_author": ("Autor", "Author"),
    "review_words": ("Texto", "Text"),
    "review_reports": ("Denúncias", "Reports"),
    "review_erased": ("dados apagados", "data erased"),
    "review_keep": ("Manter", "Keep"),
    "review_reject_confirm": ("Confirmo: recusar a avaliação", "I confirm: reject the review"),
    "review_report_spam": ("spam", "spam"),
    "review_report_offensive": ("ofensiva", "offensive"),
    "review_report_off_topic": ("fora do assunto", "off topic"),
    "review_report_personal_data": ("dados pessoais", "personal data"),
    "review_report_other": ("outro motivo", "other"),
}
