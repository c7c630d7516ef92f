"""Words the sample source system is made of: Tokyo places, Japanese and foreign names.

Share houses in Tokyo host many foreign residents, so names mix kanji, katakana and latin
script; the point is realistic utf8mb4 text in every dump, not demographic accuracy.
"""

from __future__ import annotations

WARDS: tuple[tuple[str, str, str], ...] = (
    # (municipality, romanised, zip prefix)
    ("新宿区", "Shinjuku", "160"),
    ("中野区", "Nakano", "164"),
    ("杉並区", "Suginami", "166"),
    ("渋谷区", "Shibuya", "150"),
    ("世田谷区", "Setagaya", "154"),
    ("豊島区", "Toshima", "170"),
    ("板橋区", "Itabashi", "173"),
    ("練馬区", "Nerima", "176"),
    ("北区", "Kita", "114"),
    ("台東区", "Taito", "110"),
    ("墨田区", "Sumida", "130"),
    ("江東区", "Koto", "135"),
    ("品川区", "Shinagawa", "140"),
    ("目黒区", "Meguro", "153"),
    ("大田区", "Ota", "144"),
    ("文京区", "Bunkyo", "112"),
)

HOUSE_WORDS: tuple[tuple[str, str], ...] = (
    ("ガーデンハウス", "Garden House"),
    ("シェアレジデンス", "Share Residence"),
    ("ソーシャルアパートメント", "Social Apartment"),
    ("コリビング", "Co-living"),
    ("ヴィラ", "Villa"),
    ("テラス", "Terrace"),
    ("ハイツ", "Heights"),
    ("メゾン", "Maison"),
)

STREETS: tuple[str, ...] = ("本町", "中央", "東", "西", "南", "北", "若宮", "松原", "桜丘", "緑町")

JAPANESE_LAST_NAMES: tuple[str, ...] = (
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水",
)  # fmt: skip

JAPANESE_FIRST_NAMES: tuple[str, ...] = (
    "翔太", "大輝", "蓮", "悠斗", "陽菜", "結衣", "美咲", "さくら", "健太", "拓海",
    "葵", "凛", "優奈", "彩花", "直人", "恵", "真央", "一郎", "花子", "亮",
)  # fmt: skip

FOREIGN_NAMES: tuple[tuple[str, str], ...] = (
    # (last, first): as foreign residents register them, in katakana or latin script
    ("スミス", "ジョン"),
    ("Nguyen", "Van An"),
    ("キム", "ミンジュ"),
    ("Wang", "Lei"),
    ("Martin", "Camille"),
    ("ガルシア", "マリア"),
    ("Müller", "Lukas"),
    ("Silva", "João"),
    ("Sharma", "Priya"),
    ("Tran", "Thi Mai"),
)

NATIONALITIES: tuple[str, ...] = (
    "日本", "中国", "韓国", "ベトナム", "アメリカ", "フランス", "ドイツ", "ブラジル",
    "インド", "フィリピン", "台湾", "イギリス", "タイ", "インドネシア", "ネパール",
)  # fmt: skip

MEDIA: tuple[str, ...] = (
    "自社サイト", "SUUMO", "HOME'S", "Google", "Instagram", "紹介", "GaijinPot", "看板",
)  # fmt: skip

AFFILIATIONS: tuple[str, ...] = (
    "株式会社東京テック", "早稲田大学", "日本語学校", "フリーランス", "NULL",
    "外資系コンサル", "飲食店", "東京大学", "自営業", "IT企業",
)  # fmt: skip
