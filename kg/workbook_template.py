"""The blank coding workbook: the sheets and columns kg/cases.py reads, with drop-downs of the validator's values."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from kg import cases as cf
from kg import validate as v

GUIDE_SHEET, LISTS_SHEET = cf.TEMPLATE_GUIDE_SHEETS
LANGUAGES = ("en", "zh")  # a text column is written once per language: name@en, name@zh
EXAMPLE_ID = "example-case"
LAST_ROW = 1_048_576  # Excel's last row: a drop-down covers the whole column below the header

# What a column holds, by the validator's kind of field (kg/validate.py, Spec.kind), in English and Chinese.
KIND_TO_WORDS = {
    "id": ("id: letters, digits, '.', '_', '-'", "编号：字母、数字、“.”“_”“-”"),
    "text": ("text; @en English, @zh Chinese", "文本；@en 英文，@zh 中文"),
    "string": ("text", "文本"),
    "verbatim": ("text, kept exactly as written", "文本，按原样保留"),
    "bool": ("true or false", "true（是）或 false（否）"),
    "date": ("date, YYYY-MM-DD", "日期，YYYY-MM-DD"),
    "enum": ("one word from the list", "从下拉列表中选一个词"),
    "enums": ("words from the list, comma-separated", "下拉列表中的词，多个用逗号分隔"),
    "refs": ("ids of this case, comma-separated", "本案例中的编号，多个用逗号分隔"),
    "scalar": ("a number, true/false, text or a date", "数字、true/false、文本或日期"),
}

# What each column means, in English and Chinese; (sheet, column) when a sheet gives a column its own sense.
COLUMN_TO_MEANING = {
    "case": ("the id of the case (sheet cases) this row belongs to", "本行所属案例的编号（见 cases 表）"),
    ("cases", "id"): ("the case's short name, used in its IRIs", "案例的简短编号，用于其 IRI"),
    "illustrative": ("true for invented example data, false for real field data",
                     "虚构的示例数据填 true，真实调研数据填 false"),
    ("cases", "name"): ("the case's name", "案例名称"),
    "city": ("the city", "所在城市"),
    "province": ("the province", "所在省份"),
    "period": ("the period studied, e.g. 2016-2018", "研究时段，如 2016-2018"),
    "services": ("the elderly-care services provided", "提供的养老服务"),
    "arrangement": ("the delivery arrangement (公建民营, 民办公助, or other)", "服务供给方式（公建民营、民办公助或其他）"),
    ("cases", "description"): ("a short narrative of the case", "案例简述"),
    "authority": ("degree of governance authority", "治理权威程度"),
    "authority_justification": ("why that degree of authority", "判定治理权威程度的理由"),
    "authority_evidence": ("evidence ids behind the authority level", "支撑治理权威程度判定的证据编号"),
    "resources": ("concentration of governance resources", "治理资源集中程度"),
    "resources_justification": ("why that concentration of resources", "判定治理资源集中程度的理由"),
    "resources_evidence": ("evidence ids behind the resource level", "支撑治理资源集中程度判定的证据编号"),
    "characteristics": ("the characteristics of coproduction the data evidence", "资料所体现的合作生产特征"),
    ("actors", "id"): ("the actor's short name within the case", "参与主体在本案例中的编号"),
    ("actors", "name"): ("the actor's name", "参与主体名称"),
    "sector": ("the sector the actor belongs to", "参与主体所属部门"),
    "actor": ("the id of an actor of this case (sheet actors)", "本案例参与主体的编号（见 actors 表）"),
    "role": ("one role the actor plays; one row per role", "参与主体承担的一个角色；每个角色一行"),
    "stage": ("the stage of coproduction observed", "所观察的合作生产阶段"),
    "mechanism": ("the mechanism at work, if seen", "所见的运行机制（如有）"),
    "strategy": ("the strategy used, if seen", "所见的策略（如有）"),
    "outcomes": ("the outcomes seen; leave empty if none were seen", "所见的结果；未见则留空"),
    "actors": ("ids of the actors involved (sheet actors)", "涉及的参与主体编号（见 actors 表）"),
    "evidence": ("ids of the evidence behind this row (sheet evidence)", "支撑本行的证据编号（见 evidence 表）"),
    ("observations", "description"): ("what was observed", "所观察到的情况"),
    ("evidence", "id"): ("the evidence's id, e.g. an interview number", "证据编号，如访谈编号"),
    "kind": ("the kind of evidence", "证据类型"),
    "date": ("when it was collected", "收集日期"),
    "quotation": ("a quotation in its original language", "原文引语（保留原语言）"),
    "supports": ("what this evidence supports", "该证据所支撑的内容"),
    "condition": ("an application condition of the modes", "合作生产模式的适用条件"),
    "holds": ("does the condition hold in this case?", "该条件在本案例中是否成立"),
    "justification": ("why it holds or not", "成立与否的理由"),
    "indicator": ("the performance indicator", "绩效指标"),
    "value": ("its value", "指标取值"),
    ("performance", "description"): ("what the value means", "取值的含义"),
    "locator": ("where in the material: document, page, lines or minute, e.g. I-03 p.4 l.12-20 or 00:14:05",
                "资料中的位置：文件、页码、行号或时间点，如 I-03 p.4 l.12-20 或 00:14:05"),
    "respondent_role": ("the position of the person speaking, e.g. centre manager", "受访者身份，如中心负责人"),
    "coder": ("the id of the person who coded this", "编码者编号"),
    ("cases", "coder"): ("the id of the person who coded the case", "本案例编码者的编号"),
    "coded_on": ("the day it was coded", "编码日期"),
    ("cases", "coded_on"): ("the day the case was coded", "本案例的编码日期"),
    "confidence": ("how sure the coder is of it (see sheet guide)", "编码者的把握程度（见 guide 表）"),
    ("cases", "confidence"): ("how sure the coder is of the case's coding as a whole", "编码者对本案例整体编码的把握程度"),
    "authority_coder": ("who coded the authority level, if not the case's coder", "治理权威程度的编码者（若非本案例编码者）"),
    "authority_coded_on": ("the day the authority level was coded", "治理权威程度的编码日期"),
    "authority_confidence": ("how sure the coder is of the authority level", "对治理权威程度判定的把握程度"),
    "resources_coder": ("who coded the resource level, if not the case's coder", "治理资源集中程度的编码者（若非本案例编码者）"),
    "resources_coded_on": ("the day the resource level was coded", "治理资源集中程度的编码日期"),
    "resources_confidence": ("how sure the coder is of the resource level", "对治理资源集中程度判定的把握程度"),
}

# One complete, valid case across the sheets, marked illustrative: it shows the form of every column.
EXAMPLE_ROWS = {
    "cases": [{
        "id": EXAMPLE_ID, "illustrative": True,
        "name@en": "Example case (illustrative: overwrite or delete these grey rows)",
        "name@zh": "示例案例（虚构：请覆盖或删除灰色示例行）",
        "city@en": "Hangzhou", "city@zh": "杭州", "province@en": "Zhejiang", "province@zh": "浙江",
        "period": "2016-2018", "services": "meals, day-care", "arrangement": "public-construction-private-operation",
        "description@en": "A street office builds a day-care centre and contracts a care company to run it.",
        "description@zh": "街道建设日间照料中心，委托养老服务公司运营。",
        "authority": "high",
        "authority_justification@en": "The street office sets the service standards and inspects the operator.",
        "authority_evidence": "EX-I-01",
        "resources": "low",
        "resources_justification@en": "The operator brings its own staff and funds most of the running costs.",
        "resources_evidence": "EX-I-01",
        "characteristics": "diverse-subjects, common-goals",
        "coder": "example-coder", "coded_on": dt.date(2018, 4, 2), "confidence": "medium",
        "authority_confidence": "high",
    }],
    "actors": [
        {"case": EXAMPLE_ID, "id": "street-office", "name@en": "Street office", "name@zh": "街道办事处",
         "sector": "state"},
        {"case": EXAMPLE_ID, "id": "care-company", "name@en": "Care company", "name@zh": "养老服务公司",
         "sector": "market"},
    ],
    "participations": [
        {"case": EXAMPLE_ID, "actor": "street-office", "role": "commissioner"},
        {"case": EXAMPLE_ID, "actor": "street-office", "role": "facility-provider"},
        {"case": EXAMPLE_ID, "actor": "care-company", "role": "service-operator"},
    ],
    "observations": [{
        "case": EXAMPLE_ID, "stage": "design", "mechanism": "emergence", "strategy": "aggregation",
        "outcomes": "collective-participation-realised", "actors": "street-office, care-company",
        "evidence": "EX-I-01",
        "description@en": "The office and the company agree who provides the building and who the staff.",
    }],
    "evidence": [{
        "case": EXAMPLE_ID, "id": "EX-I-01", "kind": "interview", "date": dt.date(2018, 3, 20),
        "quotation@zh": "房子是街道的，人是公司的。",
        "supports@en": "Interview with the centre's manager on how the contract was set up.",
        "locator": "EX-I-01 p.2 l.5-9", "respondent_role@en": "centre manager", "respondent_role@zh": "中心负责人",
    }],
    "conditions": [{
        "case": EXAMPLE_ID, "condition": "partners-strong-professionals", "holds": True,
        "justification@en": "The company runs several care centres in the city.", "evidence": "EX-I-01",
        "confidence": "low",
    }],
    "performance": [{
        "case": EXAMPLE_ID, "indicator": "service-volume", "value": 120,
        "description@en": "Meals served a day.", "evidence": "EX-I-01",
    }],
}


@dataclass(frozen=True)
class Column:
    """One column of a template sheet: its header, the field it fills and what the validator allows there."""

    sheet: str
    header: str  # as written in row 1: the field, with @lang for a text column
    field: str
    spec: v.Spec

    @property
    def allowed(self) -> tuple[str, ...]:
        """The values a drop-down offers: the validator's vocabulary, or its words for true and false."""
        if self.spec.vocabulary:
            return tuple(self.spec.vocabulary)
        if self.spec.kind == "bool":
            return (*sorted(v.TRUE_WORDS), *sorted(v.FALSE_WORDS))
        return ()

    @property
    def one_value(self) -> bool:
        """Whether a cell holds one word, so the drop-down may refuse anything else (a list cell cannot be checked)."""
        return self.spec.kind in ("enum", "bool")

    @property
    def meaning(self) -> tuple[str, str]:
        return COLUMN_TO_MEANING.get((self.sheet, self.field)) or COLUMN_TO_MEANING[self.field]


def column_spec(sheet: str, name: str) -> v.Spec:
    """Find what the validator checks in column `name` of `sheet` (the reader turns each sheet into these records)."""
    if name == "case":
        return v.Spec("id", True)
    if sheet == "participations":  # each row is one role of one actor of sheet actors
        return v.Spec("id", True, refs="actor") if name == "actor" else v.CASE.fields["actors"].record.fields["roles"]
    record = v.CASE if sheet == "cases" else v.CASE.fields[cf.SHEET_TO_CASE_FIELD[sheet]].record
    return record.fields[name]


def template_columns(sheet: str) -> list[Column]:
    """The columns of one data sheet, in the reader's order, a text column once per language."""
    columns = []
    for name in cf.SHEET_COLUMNS[sheet]:
        spec = column_spec(sheet, name)
        headers = [f"{name}@{lang}" for lang in LANGUAGES] if name in cf.TEXT_COLUMNS else [name]
        columns += [Column(sheet, header, name, spec) for header in headers]
    return columns


def write_template(target: Path) -> Path:
    """Write the blank workbook to `target` (written beside it and renamed, so no half-written file is left)."""
    from openpyxl import Workbook

    book = Workbook()
    guide = book.active
    guide.title = GUIDE_SHEET
    lists = book.create_sheet(LISTS_SHEET)
    columns = {sheet: template_columns(sheet) for sheet in cf.SHEET_COLUMNS}
    for sheet, sheet_columns in columns.items():
        _write_data_sheet(book, sheet, sheet_columns, lists)
    _write_guide(guide, [c for sheet_columns in columns.values() for c in sheet_columns])
    lists.sheet_state = "hidden"  # the guide lists the same values for people; this sheet is for the drop-downs
    book.move_sheet(lists, offset=len(book.sheetnames))
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    book.save(partial)
    os.replace(partial, target)
    return target


HEADER_FILL, EXAMPLE_FILL = "DDEBF7", "F2F2F2"


def _write_data_sheet(book, sheet: str, columns: list[Column], lists) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    ws = book.create_sheet(sheet)
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", start_color=HEADER_FILL)
    example_font, example_fill = Font(italic=True, color="7F7F7F"), PatternFill("solid", start_color=EXAMPLE_FILL)
    for row in EXAMPLE_ROWS[sheet]:
        ws.append([row.get(c.header) for c in columns])
        for cell in ws[ws.max_row]:
            cell.font, cell.fill = example_font, example_fill
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(12, min(40, len(column.header) + 4))
        if not column.allowed:
            continue
        # A named range on the lists sheet: an inline list is capped at 255 characters, and a name reads better.
        list_column = get_column_letter(len(book.defined_names) + 1)  # one column of the lists sheet per name
        lists[f"{list_column}1"] = f"{sheet}.{column.header}"
        for n, word in enumerate(column.allowed, start=2):
            lists[f"{list_column}{n}"] = word
        name = f"allowed_{sheet}_{column.field}"
        book.defined_names[name] = DefinedName(
            name, attr_text=f"{LISTS_SHEET}!${list_column}$2:${list_column}${len(column.allowed) + 1}")
        check = DataValidation(type="list", formula1=name, allow_blank=True, showErrorMessage=column.one_value,
                               errorTitle=f"{sheet}.{column.header}",
                               error=f"Pick one value from the list (sheet {GUIDE_SHEET}).")
        check.add(f"{letter}2:{letter}{LAST_ROW}")
        ws.add_data_validation(check)


def _write_guide(ws, columns: list[Column]) -> None:
    from openpyxl.styles import Alignment, Font

    intro = [
        ("CoproKG case workbook", "CoproKG 案例编码工作簿"),
        ("One sheet per table; row 1 holds the column names; one row per record below it.",
         "每张表对应一类记录；第 1 行为列名，其下每行一条记录。"),
        ("The grey rows are an illustrative example case: overwrite or delete them.",
         "灰色行是虚构的示例案例：请覆盖或删除。"),
        ("Every row outside sheet cases names its case in column case.",
         "除 cases 表外，每行都在 case 列填写所属案例的编号。"),
        ("Text columns come per language: @en English, @zh Chinese; fill at least one.",
         "文本列按语言分列：@en 英文，@zh 中文；至少填写一种。"),
        ("Columns with a drop-down take its words; a list column takes several, comma-separated.",
         "带下拉列表的列填写其中的词；可多选的列用逗号分隔多个词。"),
        ("Audit: coder is who coded (an id); coded_on the day; an assessment without its own coder is the case's.",
         "审核字段：coder 为编码者编号，coded_on 为编码日期；评估未填编码者时即为本案例的编码者。"),
        ("Confidence: low = evidence thin, indirect or conflicting; medium = it supports the coding but allows "
         "another reading; high = direct, consistent evidence, another coder would likely code it alike.",
         "把握程度：low 证据单薄、间接或相互矛盾；medium 证据支持该编码但也容许其他解读；"
         "high 证据直接且一致，其他编码者很可能作出相同编码。"),
        ("Check: coprokg validate FILE.xlsx    Load: coprokg load FILE.xlsx    Format: docs/case-format.md",
         "检查：coprokg validate FILE.xlsx    导入：coprokg load FILE.xlsx    格式说明：docs/case-format.md"),
        ("How to choose each word (decision rules, examples): docs/codebook.md",
         "每个词如何选用（判定规则与示例）：docs/codebook.md"),
    ]
    for en, zh in intro:
        ws.append([en, None, None, None, None, zh])
    ws["A1"].font = ws["F1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(["sheet 表", "column 列", "required 必填", "what it holds", "allowed values 可选值",
               "meaning", "含义", "填写方式"])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for column in columns:
        kind_en, kind_zh = KIND_TO_WORDS[column.spec.kind]
        meaning_en, meaning_zh = column.meaning
        ws.append([column.sheet, column.header, "yes 是" if column.spec.required else "no 否", kind_en,
                   ", ".join(column.allowed), meaning_en, meaning_zh, kind_zh])
    for letter, width in zip("ABCDEFGH", (14, 26, 12, 34, 50, 50, 34, 30)):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = f"A{header_row + 1}"
