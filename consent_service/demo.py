"""The demo organization: an online shop in Chinese and English, with people and histories.

Seeding is idempotent: what exists is left alone, and consent acts carry idempotency keys,
so a second run records nothing new.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask.cli import AppGroup

from consent_service.audit.checkpoints import create_checkpoint
from consent_service.clock import utcnow
from consent_service.commands import command_transaction, echo_json
from consent_service.consent import service as consent
from consent_service.consent import subjects
from consent_service.errors import NotFound
from consent_service.organizations import service as organizations
from consent_service.organizations.models import Organization
from consent_service.policies import purposes
from consent_service.policies import service as policies
from consent_service.rights import queries, systems
from consent_service.rights import service as rights
from consent_service.staff import accounts

SLUG = "demo"
POLICY_LABEL = "2026.1"

PURPOSES: list[dict[str, Any]] = [
    {
        "code": "account",
        "name_zh": "账号注册与登录",
        "name_en": "Account registration and sign-in",
        "description_zh": "创建并维护您的账号，验证登录。",
        "description_en": "Create and keep your account and check your sign-in.",
        "processing_method_zh": "您在注册页填写；登录时由我们的服务器校验。",
        "processing_method_en": "You enter it on the sign-up page; our servers check it at sign-in.",
        "function_kind": "basic",
        "legal_basis": "contract",
        "consent_requirement": "none",
        "pi_categories": ["basic", "online_identifier"],
        "retention_days": 1095,
        "retention_note": "账号注销后15个工作日内删除 / deleted within 15 working days of cancellation",
    },
    {
        "code": "order_fulfilment",
        "name_zh": "订单履行与配送",
        "name_en": "Order fulfilment and delivery",
        "description_zh": "处理您的订单，并将收货信息提供给配送公司完成送货。",
        "description_en": "Process your orders and give your delivery details to the courier.",
        "processing_method_zh": "下单时收集收货人、地址和电话，提供给配送公司。",
        "processing_method_en": "Recipient, address and phone are collected at checkout and passed to the courier.",
        "function_kind": "basic",
        "legal_basis": "contract",
        "consent_requirement": "none",
        "pi_categories": ["basic", "location"],
        "recipients": [
            {
                "name": "迅达快递有限公司 Xunda Express Co., Ltd.",
                "contact": "privacy@xunda-express.example",
                "purpose": "送货上门 / delivering the parcel",
            }
        ],
        "retention_days": 1095,
    },
    {
        "code": "marketing_sms",
        "name_zh": "营销短信",
        "name_en": "Marketing text messages",
        "description_zh": "向您发送促销和新品短信。您可以随时退订。",
        "description_en": "Send you offers and new products by text message. Unsubscribe at any time.",
        "processing_method_zh": "使用您注册时提供的手机号码发送短信。",
        "processing_method_en": "Texts go to the phone number you registered with.",
        "function_kind": "extended",
        "legal_basis": "consent",
        "consent_requirement": "explicit",
        "pi_categories": ["basic"],
        "retention_days": 365,
        "consent_validity_days": 365,
    },
    {
        "code": "recommendations",
        "name_zh": "个性化推荐",
        "name_en": "Personalized recommendations",
        "description_zh": "根据浏览和购买记录向您推荐商品；您也可以选择不针对个人特征的推荐（《个人信息保护法》第二十四条）。",
        "description_en": "Recommend products from your browsing and purchases; a non-personalized option is always offered (PIPL 24).",
        "processing_method_zh": "在我们的服务器上分析您的浏览记录和设备信息。",
        "processing_method_en": "Your browsing records and device details are analysed on our servers.",
        "function_kind": "extended",
        "legal_basis": "consent",
        "consent_requirement": "explicit",
        "pi_categories": ["browsing", "device"],
        "retention_days": 180,
    },
    {
        "code": "face_verification",
        "name_zh": "人脸识别验证",
        "name_en": "Face verification",
        "description_zh": "大额支付时用人脸识别确认是您本人。人脸特征属于敏感个人信息，仅用于本目的。",
        "description_en": "Confirm it is you for large payments by face recognition. Face data is sensitive and used for nothing else.",
        "processing_method_zh": "在您的设备上采集人脸图像，提取特征后比对；不保存原始图像。",
        "processing_method_en": "A face image is taken on your device, features are extracted and compared; the image is not kept.",
        "function_kind": "extended",
        "legal_basis": "consent",
        "consent_requirement": "separate",
        "pi_categories": ["biometric"],
        "retention_days": 90,
        "retention_note": "人脸特征在撤回同意或90天未使用后删除 / features deleted on withdrawal or after 90 days unused",
    },
    {
        "code": "support_overseas",
        "name_zh": "境外客服支持",
        "name_en": "Customer support from Singapore",
        "description_zh": "由新加坡的客服服务商处理您的咨询和售后请求。",
        "description_en": "A support provider in Singapore handles your questions and after-sales requests.",
        "processing_method_zh": "您的姓名、联系方式和订单记录传输至新加坡的客服系统。",
        "processing_method_en": "Your name, contact details and order records are transferred to the support system in Singapore.",
        "function_kind": "extended",
        "legal_basis": "consent",
        "consent_requirement": "separate",
        "pi_categories": ["basic"],
        "retention_days": 730,
        "cross_border_recipients": [
            {
                "name": "Merlion Care Pte. Ltd.",
                "country": "Singapore",
                "contact": "dpo@merlioncare.example",
                "purpose": "customer support",
                "rights_channel": "向 dpo@merlioncare.example 发邮件，或通过我们的个人信息保护负责人转达 / "
                "write to dpo@merlioncare.example, or through our PI protection officer",
            }
        ],
    },
]

SECTIONS = {
    "rights": {
        "zh": "您有权查阅、复制、更正、补充、删除您的个人信息，撤回同意、注销账号，并要求解释处理规则。"
        "请在“我的隐私”页面提交，或写信给个人信息保护负责人。我们在15个工作日内处理更正、删除和注销，其他请求在30天内答复。",
        "en": "You may access, copy, correct, complete and delete your information, withdraw consent, close your "
        "account and ask us to explain our rules. Use the My Privacy page or write to our PI protection officer. "
        "Corrections, deletions and cancellations are handled within 15 working days, other requests within 30 days.",
    },
    "refusal_consequences": {
        "zh": "拒绝扩展业务功能（营销短信、个性化推荐、人脸识别验证、境外客服）不影响您购物；"
        "拒绝人脸识别时，大额支付改用短信验证码。",
        "en": "Refusing an extended function (marketing texts, recommendations, face verification, overseas support) "
        "does not affect shopping; without face verification, large payments use a text-message code instead.",
    },
    "security_measures": {
        "zh": "传输加密（TLS）、存储加密、最小权限访问控制、操作审计日志，以及每年的安全演练。",
        "en": "Encryption in transit (TLS) and at rest, least-privilege access, audit logs of every operation, "
        "and a yearly security drill.",
    },
    "complaints": {
        "zh": "如对我们的处理不满意，您可以联系个人信息保护负责人，或向网信部门投诉、举报，也可以依法向人民法院提起诉讼。",
        "en": "If you are not satisfied, contact our PI protection officer, complain to the Cyberspace Administration, "
        "or bring a case before a people's court.",
    },
}

PEOPLE: list[dict[str, Any]] = [
    {"external_id": "u-1001", "email": "li.wei@example.com", "birth_date": "1990-04-12"},
    {"external_id": "u-1002", "phone": "+86 138 0000 1002", "birth_date": "1985-11-30"},
    {
        "external_id": "u-1003",
        "birth_date": "2016-06-01",
        "guardian": {"name": "王芳 Wang Fang", "contact": "+86 139 0000 1003", "relationship": "mother"},
    },
    {"external_id": "u-1004", "email": "chen.jie@example.com"},
]


def _acts(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    web = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (demo)", "locale": "zh-CN"}
    return [
        (
            "u-1001",
            {
                "purposes": ["marketing_sms", "recommendations"],
                "action": "grant",
                "consent_type": "explicit",
                "method": "web",
                "evidence": web,
            },
        ),
        ("u-1001", {"purposes": ["marketing_sms"], "action": "withdraw", "method": "app"}),
        ("u-1002", {"purposes": ["recommendations"], "action": "refuse", "method": "app"}),
        (
            "u-1002",
            {
                "purposes": ["face_verification"],
                "action": "grant",
                "consent_type": "separate",
                "method": "app",
                "evidence": {**web, "locale": "zh-CN"},
            },
        ),
        (
            "u-1003",
            {
                "purposes": ["recommendations"],
                "action": "grant",
                "consent_type": "explicit",
                "method": "paper",
                "actor": {
                    "kind": "officer",
                    "name": "Zhao Min (support)",
                    "relationship": "mother",
                    "reason": "paper consent form signed by the mother, Wang Fang",
                },
                "evidence": {"document_ref": "paper form 2026-0117"},
            },
        ),
        (
            "u-1004",
            {
                "purposes": ["support_overseas"],
                "action": "grant",
                "consent_type": "separate",
                "method": "web",
                "evidence": {**web, "locale": "en"},
            },
        ),
    ]


#: The demo's data systems: where the information is, so that requests have tasks to show.
SYSTEMS: list[dict[str, Any]] = [
    {"name": "会员与订单系统 Members and orders", "owner": "电商平台组 Platform team",
     "categories": ["basic", "device", "location"]},
    {"name": "推荐引擎 Recommendations", "owner": "数据组 Data team", "categories": ["browsing", "device"]},
]  # fmt: skip
#: Rights requests in the demo, so that the officer's queue has work of every urgency: an access
#: request and a correction received today (waiting for the systems), a deletion received 19
#: days ago (due within days), a copy received 33 days ago (overdue), and a request for an
#: explanation whose requester has not entered the mailed code yet.
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("u-1001", "access", {}),
    ("u-1004", "correction", {"corrections": {"email": "chen.jie@new-mail.example"}}),
    ("u-1002", "deletion", {"days_ago": 19}),
    ("u-1004", "copy", {"days_ago": 33}),
    ("u-1001", "explanation", {"verified": False, "details": "为什么向我推荐这些商品？"}),
]
#: The demo's staff, outside production only: they sign in to /console/demo/ with this password.
STAFF = [
    ("officer@hanshan-mall.example", "王芳 Wang Fang", "officer"),
    ("auditor@hanshan-mall.example", "赵敏 Zhao Min", "auditor"),
]
STAFF_PASSWORD = "hanshan-demo-2026"  # noqa: S105 (the demo's, refused in production)


def seed(now: datetime) -> dict[str, Any]:
    """Create (or complete) the demo organization; return what was created."""
    organizations.load_catalogue()
    created: dict[str, Any] = {"organization": False, "purposes": 0, "policy": False, "events": 0}
    try:
        org = organizations.get_organization(SLUG)
    except NotFound:
        org = organizations.create_organization(
            SLUG,
            now,
            name_zh="寒山优选商城",
            name_en="Hanshan Select Mall",
            contact_email="privacy@hanshan-mall.example",
            contact_phone="+86 21 5555 0100",
            address="上海市浦东新区示例路 100 号 / 100 Example Road, Pudong, Shanghai",
            pipo_name="刘洋 Liu Yang",
            pipo_contact="pipo@hanshan-mall.example",
        )
        created["organization"] = True
    existing = set(purposes.current_versions(org))
    for data in PURPOSES:
        if data["code"] not in existing:
            purposes.create_purpose(org, data, now)
            created["purposes"] += 1
    try:
        policies.get_policy(org, POLICY_LABEL)
    except NotFound:
        policies.create_policy(org, _policy_data(), now)
        policies.publish_policy(org, POLICY_LABEL, now)
        created["policy"] = True
    for index, (external_id, act) in enumerate(_acts(now)):
        person = next(p for p in PEOPLE if p["external_id"] == external_id)
        fields = {k: v for k, v in person.items() if k != "external_id"}
        subject = subjects.upsert_subject(org, external_id, now, **fields)
        result = consent.record_act(
            org,
            subject,
            now,
            policy_version=POLICY_LABEL,
            idempotency_key=f"demo-seed-{index}",
            is_subject_initiated=True,
            **act,
        )
        if not result.is_replay:
            created["events"] += len(result.events)
    created["data_systems"] = 0
    if not systems.active(org):
        for data in SYSTEMS:
            systems.register(org, now=now, **data)
            created["data_systems"] += 1
    created["rights_requests"] = 0
    if not queries.list_requests(org, now, limit=1)[0]:
        for external_id, request_type, options in REQUESTS:
            options = dict(options)
            received = now - timedelta(days=options.pop("days_ago", 0))
            verified = "company" if options.pop("verified", True) else None
            rights.create_request(org, external_id, request_type, received, identity_verified_by=verified,
                                  client_id="demo-seed", **options)  # fmt: skip
            created["rights_requests"] += 1
    created["staff"] = _staff(org, now)
    checkpoint = create_checkpoint(org, now)
    created["checkpoint"] = checkpoint.seq if checkpoint else None
    return created


def _staff(org: Organization, now: datetime) -> int:
    """The demo's officer and auditor, enrolled with :data:`STAFF_PASSWORD`; none in production,
    where staff are invited with ``flask staff create``."""
    if current_app.config["ENV"] == "production":
        return 0
    made = 0
    for email, name, role in STAFF:
        if accounts.find_member(org, email) is None:
            _, link = accounts.invite(org, email, name, role, now)
            accounts.enrol(link.rsplit("/", 1)[1], STAFF_PASSWORD, now)
            made += 1
    return made


def _policy_data() -> dict[str, Any]:
    return {
        "label": POLICY_LABEL,
        "text_zh": "# 寒山优选商城个人信息保护政策\n\n本政策说明我们如何收集、使用、提供和保护您的个人信息。"
        "基本业务功能（账号、订单配送）依据合同必需处理；扩展业务功能仅在您同意后开启，您可以随时撤回。",
        "text_en": "# Hanshan Select Mall privacy policy\n\nThis policy explains how we collect, use, share and protect "
        "your personal information. Basic functions (account, order delivery) are necessary for our "
        "contract with you; extended functions start only with your consent, which you may withdraw at any time.",
        "sections": SECTIONS,
        "purposes": [p["code"] for p in PURPOSES],
        "change_summary": "首次发布 / first published",
    }


demo_cli = AppGroup("demo", help="The demo organization.")


@demo_cli.command("seed")
@command_transaction
def seed_command() -> None:
    """Create the demo organization with purposes, a published policy and people (idempotent)."""
    echo_json(seed(utcnow()))


def demo_organization() -> Organization:
    """The demo organization (after :func:`seed`)."""
    return organizations.get_organization(SLUG)


__all__ = ["seed", "demo_organization", "PEOPLE", "PURPOSES"]
