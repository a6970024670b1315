"""Name pools for synthetic data: place-name syllables with pinyin, people's names, services and brands."""

from __future__ import annotations

import numpy as np

# Characters that make plausible Chengdu place names, with their pinyin (for the English names).
PLACE_CHARS: tuple[tuple[str, str], ...] = (
    ("锦", "jin"),
    ("东", "dong"),
    ("双", "shuang"),
    ("青", "qing"),
    ("桂", "gui"),
    ("莲", "lian"),
    ("沙", "sha"),
    ("水", "shui"),
    ("金", "jin"),
    ("玉", "yu"),
    ("石", "shi"),
    ("龙", "long"),
    ("凤", "feng"),
    ("福", "fu"),
    ("和", "he"),
    ("新", "xin"),
    ("华", "hua"),
    ("安", "an"),
    ("平", "ping"),
    ("兴", "xing"),
    ("宏", "hong"),
    ("柳", "liu"),
    ("桃", "tao"),
    ("梅", "mei"),
    ("松", "song"),
    ("竹", "zhu"),
    ("泉", "quan"),
    ("湖", "hu"),
    ("江", "jiang"),
    ("溪", "xi"),
    ("明", "ming"),
    ("春", "chun"),
    ("南", "nan"),
    ("天", "tian"),
    ("云", "yun"),
    ("万", "wan"),
    ("永", "yong"),
    ("瑞", "rui"),
    ("祥", "xiang"),
    ("康", "kang"),
    ("宁", "ning"),
    ("文", "wen"),
    ("乐", "le"),
    ("书", "shu"),
    ("田", "tian"),
    ("光", "guang"),
    ("盛", "sheng"),
    ("丰", "feng"),
    ("荣", "rong"),
    ("嘉", "jia"),
    ("顺", "shun"),
    ("静", "jing"),
    ("泰", "tai"),
    ("同", "tong"),
    ("汇", "hui"),
    ("林", "lin"),
    ("湾", "wan"),
    ("桥", "qiao"),
    ("花", "hua"),
    ("园", "yuan"),
)

MAIN_SUFFIXES = ("路", "路", "大道", "东路", "西路", "南路", "北路")
STREET_SUFFIXES = ("街", "路", "东街", "西街", "横街", "正街", "中街")
ALLEY_SUFFIXES = ("巷", "一巷", "二巷", "三巷", "横巷", "后巷", "北巷")
ESTATE_SUFFIXES = ("苑", "花园", "小区", "家园", "公寓", "雅居", "华庭", "佳园", "新居", "新村")
PHASES = ("一期", "二期", "三期", "四期", "五期", "六期", "七期", "八期")
CN_DIGITS = "〇一二三四五六七八九"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万严覃武戴"
)
GIVEN_CHARS = (
    "建国华明丽芳秀英玉兰桂珍志强伟刚勇军平红霞燕萍静婷雪梅琳晓东文杰俊涛斌浩宇鹏海波洪亮辉永"
    "春秋云霞凤琴淑敏慧娟洁蓉川渝成蜀锦思佳欣怡子涵雨轩梓豪家乐德福祥贵荣兴"
)
PHONE_PREFIXES = ("138", "139", "135", "136", "137", "150", "151", "158", "180", "182", "186", "189", "199")

CENTRE_SERVICES = (
    "民政",
    "社保",
    "医保",
    "信访",
    "就业创业",
    "残疾人服务",
    "退役军人服务",
    "计划生育",
    "户籍协办",
    "法律援助",
)
COMMUNITY_SERVICES = (  # 7 classes, 20 services
    "政务服务·证明开具",
    "政务服务·社保卡办理",
    "政务服务·居住证协办",
    "民生服务·低保救助",
    "民生服务·临时救助",
    "民生服务·残疾人帮扶",
    "民生服务·就业岗位推荐",
    "民生服务·技能培训",
    "养老服务·老年助餐",
    "养老服务·日间照料",
    "养老服务·高龄津贴",
    "卫生健康·健康咨询",
    "卫生健康·家庭医生签约",
    "卫生健康·母婴关爱",
    "文化服务·图书阅览",
    "文化服务·文体活动",
    "法律服务·法律咨询",
    "法律服务·矛盾调解",
    "党群服务·党员活动",
    "党群服务·志愿服务",
)
OUTPOST_SERVICES = (
    "政策宣传",
    "民情收集",
    "事项代办",
    "矛盾调解",
    "邻里互助",
    "便民维修",
    "图书借阅",
    "健康咨询",
    "法律咨询",
    "老年人关爱",
    "志愿服务对接",
)
CENTRE_HOURS = "周一至周五 09:00-12:00、13:00-17:30；周六 09:00-12:00"
COMMUNITY_HOURS = ("周一至周五 09:00-17:30；周六 09:00-12:00", "周一至周日 09:00-18:00")
OUTPOST_HOURS = (
    "每日 09:00-11:30、14:30-17:30",
    "周一至周六 09:00-12:00、14:00-17:00",
    "周二至周日 14:00-18:00",
)
BRAND_SUFFIXES = (
    "邻里汇",
    "暖心驿站",
    "茶话会",
    "乐龄坊",
    "书香里",
    "便民集",
    "共享菜园",
    "同心圆",
    "河畔客厅",
    "手艺坊",
)

# The demo subdistrict: names from the source article where it gives them, the rest invented.
DEMO_SUBDISTRICT = ("牛市口街道", "Niushikou")
DEMO_COMMUNITIES: tuple[tuple[str, str], ...] = (
    ("莲花", "Lianhua"),
    ("一心桥", "Yixinqiao"),
    ("龙舟路", "Longzhoulu"),
    ("东光", "Dongguang"),
    ("静沙", "Jingsha"),
    ("锦华", "Jinhua"),
    ("沙湾", "Shawan"),
    ("汇泉", "Huiquan"),
    ("柳荫", "Liuyin"),
    ("和祥", "Hexiang"),
)
DEMO_BRANDS = {"莲花": "微莲动·花自开", "龙舟路": "龙舟坝坝茶"}
DEMO_ESTATES = ("莲花新区", "朝阳逸景")
BRIDGE_NAMES = ("一心桥", "莲花桥", "东光桥", "锦华桥", "沙湾桥", "汇泉桥", "双林桥", "和祥桥")
RIVERS: tuple[tuple[str, str, float], ...] = (
    ("沙河", "SH", 32.0),
    ("府河", "FH", 60.0),
    ("南河", "NH", 50.0),
    ("江安河", "JAH", 40.0),
    ("清水河", "QSH", 30.0),
    ("东风渠", "DFQ", 25.0),
    ("摸底河", "MDH", 20.0),
    ("西郊河", "XJH", 18.0),
)
# Chengdu district admin codes and names (real codes; used only as prefixes of synthetic units).
DISTRICTS: tuple[tuple[str, str], ...] = (
    ("510104", "锦江区"),
    ("510105", "青羊区"),
    ("510106", "金牛区"),
    ("510107", "武侯区"),
    ("510108", "成华区"),
    ("510112", "龙泉驿区"),
    ("510113", "青白江区"),
    ("510114", "新都区"),
    ("510115", "温江区"),
    ("510116", "双流区"),
    ("510117", "郫都区"),
)


class NamePool:
    """Draws unique place names and people's names from one random generator."""

    def __init__(self, rng: np.random.Generator, *, taken: list[str] | None = None) -> None:
        self.rng = rng
        self._taken: dict[str, None] = dict.fromkeys(taken or [])

    def root(self) -> tuple[str, str]:
        """A two-character place-name root and its pinyin, e.g. ('锦兴', 'Jinxing')."""
        i, j = self.rng.choice(len(PLACE_CHARS), size=2, replace=False)
        (a, pa), (b, pb) = PLACE_CHARS[int(i)], PLACE_CHARS[int(j)]
        return a + b, (pa + pb).capitalize()

    def unique(self, suffixes: tuple[str, ...], *, tries: int = 200) -> tuple[str, str]:
        """A root plus a suffix never returned before by this pool; returns (name, root pinyin)."""
        for _ in range(tries):
            root, pinyin = self.root()
            name = root + suffixes[int(self.rng.integers(len(suffixes)))]
            if name not in self._taken:
                self._taken[name] = None
                return name, pinyin
        raise RuntimeError("name pool exhausted")

    def claim(self, name: str) -> bool:
        """Mark a name as used; False if it was already used."""
        if name in self._taken:
            return False
        self._taken[name] = None
        return True

    def person(self) -> str:
        """A synthetic personal name: a common surname and one or two given-name characters."""
        surname = SURNAMES[int(self.rng.integers(len(SURNAMES)))]
        n = 1 if self.rng.random() < 0.3 else 2
        given = "".join(GIVEN_CHARS[int(k)] for k in self.rng.integers(len(GIVEN_CHARS), size=n))
        return surname + given

    def unique_person(self) -> str:
        """A personal name not yet drawn from this pool."""
        for _ in range(100):
            name = self.person()
            if name not in self._taken:
                self._taken[name] = None
                return name
        raise RuntimeError("person name pool exhausted")

    def phone(self) -> str:
        """A masked mobile number such as '138****1234'."""
        prefix = PHONE_PREFIXES[int(self.rng.integers(len(PHONE_PREFIXES)))]
        return f"{prefix}****{int(self.rng.integers(10000)):04d}"


def cn_number(n: int) -> str:
    """Chinese numeral for 1..99 as used in names ('十二')."""
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else CN_DIGITS[tens]
    return head + "十" + (CN_DIGITS[ones] if ones else "")
