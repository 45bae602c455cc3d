"""The grounds on which a request may be refused (GB/T 35273 8.7 d), and what a refusal must
say besides (PIPL 50: the reason and the channel of complaint or suit)."""

from __future__ import annotations

#: code: (中文, English)
REFUSAL_GROUNDS = {
    "legal_duty": (
        "与个人信息控制者履行法律法规规定的义务相关",
        "The handler's duties under law or regulation",
    ),
    "national_security": ("与国家安全、国防安全直接相关", "Directly related to national or defence security"),
    "public_interest": (
        "与公共安全、公共卫生、重大公共利益直接相关",
        "Directly related to public safety, public health or a major public interest",
    ),
    "criminal_justice": (
        "与刑事侦查、起诉、审判和执行判决等直接相关",
        "Directly related to criminal investigation, prosecution, trial or the execution of judgements",
    ),
    "bad_faith": (
        "有充分证据表明个人信息主体存在主观恶意或滥用权利",
        "Sufficient evidence of the subject's bad faith or abuse of the right",
    ),
    "vital_interests": (
        "出于维护个人信息主体或其他个人的生命、财产等重大合法权益但又很难得到本人同意",
        "Protecting the life, property or other vital interests of the subject or others, "
        "where the subject's consent is hard to obtain",
    ),
    "serious_harm": (
        "响应请求将导致个人信息主体或其他个人、组织的合法权益受到严重损害",
        "Answering would seriously harm the lawful rights of the subject or of other people or organizations",
    ),
    "trade_secrets": ("涉及商业秘密", "Involves trade secrets"),
}
