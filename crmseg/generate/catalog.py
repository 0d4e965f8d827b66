"""Reference data for the demo company: places, industries, names, products.

City tiers follow the common 1-5 grading of Chinese cities (1: the four
first-tier cities; 2: new first-tier and second-tier; 3-5 smaller cities).
Weights are rough shares of customers, not statistics.
"""

from __future__ import annotations

# (province, city, city_tier, weight, six-digit administrative code prefix)
CITIES: tuple[tuple[str, str, int, float, str], ...] = (
    ("北京市", "北京市", 1, 6.0, "110105"),
    ("上海市", "上海市", 1, 6.5, "310115"),
    ("广东省", "广州市", 1, 5.0, "440106"),
    ("广东省", "深圳市", 1, 5.5, "440305"),
    ("四川省", "成都市", 2, 4.0, "510107"),
    ("浙江省", "杭州市", 2, 4.0, "330106"),
    ("重庆市", "重庆市", 2, 3.5, "500103"),
    ("湖北省", "武汉市", 2, 3.2, "420106"),
    ("陕西省", "西安市", 2, 2.6, "610113"),
    ("江苏省", "苏州市", 2, 3.0, "320505"),
    ("天津市", "天津市", 2, 2.5, "120104"),
    ("江苏省", "南京市", 2, 2.8, "320106"),
    ("湖南省", "长沙市", 2, 2.3, "430104"),
    ("河南省", "郑州市", 2, 2.2, "410105"),
    ("广东省", "东莞市", 2, 2.0, "441900"),
    ("山东省", "青岛市", 2, 2.0, "370212"),
    ("辽宁省", "沈阳市", 2, 1.6, "210102"),
    ("浙江省", "宁波市", 2, 1.9, "330212"),
    ("云南省", "昆明市", 2, 1.4, "530102"),
    ("江苏省", "无锡市", 3, 1.5, "320214"),
    ("广东省", "佛山市", 3, 1.6, "440604"),
    ("安徽省", "合肥市", 3, 1.7, "340104"),
    ("辽宁省", "大连市", 3, 1.2, "210204"),
    ("福建省", "福州市", 3, 1.2, "350102"),
    ("福建省", "厦门市", 3, 1.1, "350203"),
    ("黑龙江省", "哈尔滨市", 3, 1.1, "230102"),
    ("山东省", "济南市", 3, 1.3, "370102"),
    ("浙江省", "温州市", 3, 1.1, "330302"),
    ("广西壮族自治区", "南宁市", 3, 1.0, "450103"),
    ("吉林省", "长春市", 3, 0.9, "220104"),
    ("河北省", "石家庄市", 3, 1.0, "130102"),
    ("贵州省", "贵阳市", 3, 0.9, "520102"),
    ("江西省", "南昌市", 3, 0.9, "360102"),
    ("河南省", "洛阳市", 4, 0.6, "410302"),
    ("湖南省", "株洲市", 4, 0.5, "430211"),
    ("湖北省", "宜昌市", 4, 0.5, "420502"),
    ("四川省", "绵阳市", 4, 0.5, "510703"),
    ("江西省", "赣州市", 4, 0.5, "360702"),
    ("贵州省", "遵义市", 4, 0.4, "520302"),
    ("山东省", "潍坊市", 4, 0.6, "370702"),
    ("甘肃省", "天水市", 5, 0.3, "620502"),
    ("河北省", "承德市", 5, 0.3, "130802"),
    ("云南省", "曲靖市", 5, 0.3, "530302"),
    ("黑龙江省", "绥化市", 5, 0.2, "231202"),
)

INDUSTRIES: tuple[tuple[str, str, float], ...] = (
    # (industry, Chinese word used in company names, weight)
    ("manufacturing", "制造", 22.0),
    ("retail", "商贸", 16.0),
    ("it_services", "科技", 15.0),
    ("construction", "建设", 9.0),
    ("logistics", "物流", 8.0),
    ("healthcare", "医疗", 7.0),
    ("finance", "金融服务", 5.0),
    ("energy", "能源", 5.0),
    ("education", "教育", 5.0),
    ("hospitality", "餐饮", 8.0),
)
INSTITUTION_INDUSTRIES = ("education", "healthcare", "government", "research")
INSTITUTION_NAMES = {
    "education": ("{city}第{n}中学", "{province}{brand}职业技术学院"),
    "healthcare": ("{city}第{n}人民医院", "{city}{brand}社区卫生服务中心"),
    "government": ("{city}{brand}区政务服务中心", "{city}市{brand}街道办事处"),
    "research": ("{province}{brand}研究院", "{city}{brand}检测研究所"),
}

# Brand words for company names with their pinyin, for e-mail domains.
BRANDS: tuple[tuple[str, str], ...] = (
    ("华信", "huaxin"),
    ("中盛", "zhongsheng"),
    ("瑞丰", "ruifeng"),
    ("恒通", "hengtong"),
    ("嘉诚", "jiacheng"),
    ("东方", "dongfang"),
    ("宏远", "hongyuan"),
    ("金桥", "jinqiao"),
    ("德润", "derun"),
    ("博远", "boyuan"),
    ("天成", "tiancheng"),
    ("鑫达", "xinda"),
    ("永泰", "yongtai"),
    ("新锐", "xinrui"),
    ("汇丰", "huifeng"),
    ("安泰", "antai"),
    ("华美", "huamei"),
    ("正大", "zhengda"),
    ("长城", "changcheng"),
    ("蓝海", "lanhai"),
    ("星河", "xinghe"),
    ("君和", "junhe"),
    ("立信", "lixin"),
    ("普华", "puhua"),
    ("盛世", "shengshi"),
    ("景明", "jingming"),
    ("卓越", "zhuoyue"),
    ("融通", "rongtong"),
    ("青松", "qingsong"),
    ("云帆", "yunfan"),
    ("海纳", "haina"),
    ("致远", "zhiyuan"),
)
COMPANY_SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司", "有限责任公司")

SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("高", "gao"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
)
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂英", "guiying"),
    ("建华", "jianhua"),
    ("晓东", "xiaodong"),
    ("文博", "wenbo"),
    ("子涵", "zihan"),
    ("雨轩", "yuxuan"),
    ("浩然", "haoran"),
)
PERSONAL_MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "outlook.com", "gmail.com")

PRODUCT_CATEGORIES: tuple[tuple[str, float, float], ...] = (
    # (category, weight, typical unit price in CNY)
    ("office_supplies", 18.0, 60.0),
    ("computers", 14.0, 5200.0),
    ("networking", 9.0, 1800.0),
    ("printers", 7.0, 2600.0),
    ("furniture", 8.0, 1400.0),
    ("industrial_parts", 14.0, 380.0),
    ("safety_equipment", 8.0, 220.0),
    ("software_licences", 8.0, 3600.0),
    ("consumer_electronics", 10.0, 1900.0),
    ("maintenance_services", 4.0, 900.0),
)
PRODUCTS_PER_CATEGORY = 200

CAMPAIGN_THEMES = {
    "promotion": ("年中大促", "双十一购物节", "年终答谢季", "春季焕新"),
    "product_launch": ("新品发布会", "旗舰新品首发", "秋季新品体验"),
    "webinar": ("数字化转型线上研讨会", "采购成本优化直播课", "安全合规在线讲座"),
    "trade_show": ("华南工业博览会", "国际办公设备展", "智能制造展"),
    "newsletter": ("会员月刊", "行业资讯周报", "客户通讯"),
}
CAMPAIGN_CHANNELS_BY_TYPE = {
    "promotion": ("sms", "wechat", "email", "web"),
    "product_launch": ("offline", "wechat", "web"),
    "webinar": ("web", "email", "wechat"),
    "trade_show": ("offline",),
    "newsletter": ("email", "wechat"),
}

# Relative order volume by calendar month: the Spring Festival lull in
# February, the 618 and Double 11 shopping festivals, year-end budgets.
MONTH_WEIGHTS = (0.92, 0.62, 1.0, 1.0, 1.02, 1.18, 0.95, 0.93, 1.05, 0.88, 1.32, 1.25)
# B2B orders fall off at the weekend (Monday first).
WEEKDAY_WEIGHTS = (1.1, 1.1, 1.1, 1.05, 1.0, 0.45, 0.35)

# Characters of the unified social credit code (GB 32100-2015) and the check weights.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
