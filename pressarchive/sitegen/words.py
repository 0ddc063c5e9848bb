"""Word lists the site generator writes headlines, summaries and bodies from (English, Arabic)."""

from __future__ import annotations

# The four headline "slot" lists encode an article's id (see model.py): within a list every
# word, and every transliteration, must be unique and free of hyphens and spaces. The English
# and Arabic lists of a slot run in the same order (index i means the same thing in both).
PLACES = (
    "Riyadh Jeddah Cairo Amman Beirut Baghdad Doha Dubai Muscat Kuwait Manama Rabat Tunis "
    "Algiers Khartoum Damascus Sanaa Tripoli Gaza Jerusalem Ankara Tehran Istanbul Abuja "
    "Brussels Geneva Washington Moscow Beijing London Paris Berlin"
).split()
ACTORS = (
    "Ministers Officials Lawmakers Regulators Investors Farmers Teachers Doctors Engineers "
    "Diplomats Negotiators Unions Students Exporters Airlines Banks Startups Courts Mayors "
    "Governors Activists Researchers Economists Analysts Traders Builders Retailers Insurers "
    "Shippers Clubs Artists Athletes"
).split()
VERBS = (
    "Approve Reject Debate Welcome Criticise Review Delay Back Unveil Expand Suspend Extend "
    "Probe Weigh Endorse Question Launch Halt Revise Defend Challenge Finalise Announce Propose"
).split()
TOPICS = (
    "Budget Tariffs Subsidies Reforms Elections Ceasefire Housing Pensions Wages Vaccines "
    "Pipeline Railway Airport Port Stadium Festival Museum Curriculum Visas Loans Bonds Taxes "
    "Exports Imports Drought Floods Solar Desalination Tourism Broadband Satellite Merger"
).split()

# (Arabic word, transliteration used in slugs)
AR_PLACES = [
    ("الرياض", "alriyadh"), ("جدة", "jidda"), ("القاهرة", "alqahira"), ("عمان", "amman"),
    ("بيروت", "bayrut"), ("بغداد", "baghdad"), ("الدوحة", "aldawha"), ("دبي", "dubai"),
    ("مسقط", "masqat"), ("الكويت", "alkuwait"), ("المنامة", "almanama"), ("الرباط", "alribat"),
    ("تونس", "tunis"), ("الجزائر", "aljazair"), ("الخرطوم", "alkhartum"), ("دمشق", "dimashq"),
    ("صنعاء", "sanaa"), ("طرابلس", "tarabulus"), ("غزة", "ghazza"), ("القدس", "alquds"),
    ("أنقرة", "anqara"), ("طهران", "tahran"), ("إسطنبول", "istanbul"), ("أبوجا", "abuja"),
    ("بروكسل", "bruksil"), ("جنيف", "jinif"), ("واشنطن", "washintun"), ("موسكو", "musku"),
    ("بكين", "bikin"), ("لندن", "lundun"), ("باريس", "baris"), ("برلين", "barlin"),
]
AR_ACTORS = [
    ("الوزراء", "alwuzara"), ("المسؤولون", "almasulun"), ("النواب", "alnuwwab"),
    ("المنظمون", "almunazzimun"), ("المستثمرون", "almustathmirun"), ("المزارعون", "almuzarieun"),
    ("المعلمون", "almuallimun"), ("الأطباء", "alatibba"), ("المهندسون", "almuhandisun"),
    ("الدبلوماسيون", "aldiblumasiyyun"), ("المفاوضون", "almufawidun"), ("النقابات", "alnuqabat"),
    ("الطلاب", "altullab"), ("المصدرون", "almusaddirun"), ("الناقلات", "alnaqilat"),
    ("المصارف", "almasarif"), ("الشركات", "alsharikat"), ("المحاكم", "almahakim"),
    ("البلديات", "albaladiyyat"), ("المحافظون", "almuhafizun"), ("الناشطون", "alnashitun"),
    ("الباحثون", "albahithun"), ("الاقتصاديون", "aliqtisadiyyun"), ("المحللون", "almuhallilun"),
    ("التجار", "altujjar"), ("المقاولون", "almuqawilun"), ("الصناع", "alsunna"),
    ("الخبراء", "alkhubara"), ("المسافرون", "almusafirun"), ("الأندية", "alandiya"),
    ("الفنانون", "alfannanun"), ("الرياضيون", "alriyadiyyun"),
]
AR_VERBS = [
    ("يقر", "yuqir"), ("يرفض", "yarfud"), ("يناقش", "yunaqish"), ("يرحب", "yurahhib"),
    ("ينتقد", "yantaqid"), ("يراجع", "yurajie"), ("يؤجل", "yuajjil"), ("يدعم", "yadeam"),
    ("يكشف", "yakshif"), ("يوسع", "yuwassie"), ("يعلق", "yuealliq"), ("يمدد", "yumaddid"),
    ("يحقق", "yuhaqqiq"), ("يدرس", "yadrus"), ("يؤيد", "yuayyid"), ("يسائل", "yusail"),
    ("يطلق", "yutliq"), ("يوقف", "yuqif"), ("يعدل", "yueaddil"), ("يدافع", "yudafie"),
    ("يتحدى", "yatahadda"), ("ينجز", "yunjiz"), ("يعلن", "yuelin"), ("يقترح", "yaqtarih"),
]
AR_TOPICS = [
    ("الميزانية", "almizaniya"), ("الرسوم", "alrusum"), ("الدعم", "aldaem"),
    ("الإصلاحات", "alislahat"), ("الانتخابات", "alintikhabat"), ("الهدنة", "alhudna"),
    ("الإسكان", "aliskan"), ("المعاشات", "almaashat"), ("الأجور", "alujur"),
    ("اللقاحات", "alliqahat"), ("الأنابيب", "alanabib"), ("السكك", "alsikak"),
    ("المطار", "almatar"), ("الميناء", "alminaa"), ("الملعب", "almalab"),
    ("المهرجان", "almahrajan"), ("المتحف", "almathaf"), ("المناهج", "almanahij"),
    ("التأشيرات", "altashirat"), ("القروض", "alqurud"), ("السندات", "alsanadat"),
    ("الضرائب", "aldaraib"), ("الصادرات", "alsadirat"), ("الواردات", "alwaridat"),
    ("الجفاف", "aljafaf"), ("الفيضانات", "alfayadanat"), ("الطاقة", "altaqa"),
    ("التحلية", "altahliya"), ("السياحة", "alsiyaha"), ("الإنترنت", "alinternet"),
    ("الأقمار", "alaqmar"), ("الاندماج", "alindimaj"),
]

TAILS = [
    "Amid Rising Costs", "After Weeks of Talks", "as Deadline Nears", "in Landmark Vote",
    "Despite Opposition", "Ahead of Summit", "as Prices Climb", "After Court Ruling",
    "in Surprise Move", "Under New Rules", "as Demand Grows", "After Public Outcry",
    "Amid Regional Tensions", "in Push for Growth", "as Talks Resume", "for Second Year",
]
AR_TAILS = [
    ("وسط ارتفاع التكاليف", "wasat-irtifa-altakalif"),
    ("بعد أسابيع من المحادثات", "baad-asabie-min-almuhadathat"),
    ("مع اقتراب المهلة", "mae-iqtirab-almuhla"), ("في تصويت تاريخي", "fi-taswit-tarikhi"),
    ("رغم المعارضة", "raghm-almuarada"), ("قبيل القمة", "qubayl-alqimma"),
    ("مع صعود الأسعار", "mae-suud-alasaar"), ("بعد حكم قضائي", "baad-hukm-qadai"),
    ("في خطوة مفاجئة", "fi-khutwa-mufajia"), ("وفق قواعد جديدة", "wifq-qawaid-jadida"),
    ("مع تزايد الطلب", "mae-tazayud-altalab"), ("بعد احتجاجات واسعة", "baad-ihtijajat-wasiea"),
    ("وسط توترات إقليمية", "wasat-tawattur-iqlimi"), ("لدعم النمو", "lidaem-alnumuw"),
    ("مع استئناف المحادثات", "mae-istinaf-almuhadathat"), ("للعام الثاني", "lilam-althani"),
]

EN_WORDS = (
    "the government said on Monday that the new plan would take effect next year after "
    "months of negotiations with regional partners and international lenders officials "
    "expect growth to slow while inflation remains above target according to figures "
    "published by the central bank analysts warned that higher borrowing costs could weigh "
    "on households and small businesses across the country the ministry added that it "
    "would review the measures in the coming weeks residents in several districts reported "
    "shortages of fuel and water during the summer months local authorities promised to "
    "expand services and build new roads schools and hospitals the agreement covers trade "
    "energy security and investment in ports and railways critics said the proposal did "
    "not go far enough while supporters welcomed a long awaited step the committee will "
    "meet again in September to discuss the next phase of the programme exporters have "
    "benefited from stronger demand in Asia and Europe over the past quarter a spokesman "
    "declined to comment on the details of the talks but said progress had been made "
    "the company plans to hire hundreds of workers and open offices in three cities "
    "prices of basic goods rose sharply in the first half of the year forcing families "
    "to cut spending the league confirmed the schedule for the new season with matches "
    "starting in August the festival drew thousands of visitors from across the region "
    "organisers said the museum will reopen after a two year restoration project "
    "diplomats described the meeting as constructive and frank the court is expected to "
    "rule on the case before the end of the month"
).split()
AR_WORDS = (
    "قالت الحكومة يوم الاثنين إن الخطة الجديدة ستدخل حيز التنفيذ العام المقبل بعد أشهر من "
    "المفاوضات مع الشركاء الإقليميين والمقرضين الدوليين ويتوقع المسؤولون أن يتباطأ النمو "
    "بينما يبقى التضخم فوق المستهدف وفقا لأرقام نشرها البنك المركزي وحذر محللون من أن "
    "ارتفاع تكاليف الاقتراض قد يثقل كاهل الأسر والشركات الصغيرة في أنحاء البلاد وأضافت "
    "الوزارة أنها ستراجع الإجراءات خلال الأسابيع المقبلة وأفاد سكان في عدة أحياء بنقص في "
    "الوقود والمياه خلال أشهر الصيف ووعدت السلطات المحلية بتوسيع الخدمات وبناء طرق ومدارس "
    "ومستشفيات جديدة ويشمل الاتفاق التجارة وأمن الطاقة والاستثمار في الموانئ والسكك "
    "الحديدية وقال منتقدون إن المقترح لا يذهب بعيدا بما يكفي في حين رحب مؤيدون بخطوة طال "
    "انتظارها وستجتمع اللجنة مجددا في سبتمبر لبحث المرحلة التالية من البرنامج"
).split()

EN_SUBHEADS = ["What happens next", "Background", "Reaction", "Key figures", "The numbers",
               "What officials said", "Why it matters", "The wider picture"]
AR_SUBHEADS = ["ما الخطوة التالية", "خلفية", "ردود الفعل", "أرقام رئيسية", "بالأرقام",
               "ماذا قال المسؤولون", "لماذا يهم ذلك", "الصورة الأوسع"]

EN_NAMES = ["Layla Haddad", "Omar Khalil", "Sara Nasser", "Rania Aziz", "Karim Mansour",
            "Nadia Farouk", "Yusuf Rahman", "Hana Saleh", "Tariq Al-Mutairi", "Mariam Obeid",
            "Samir Daoud", "Lina Kassem", "Adel Hamdan", "Noor Jaber", "Fadi Chamoun",
            "Dina Youssef"]
AR_NAMES = ["منى الشريف", "أحمد السالم", "ريم العتيبي", "خالد الحربي", "سلمى يوسف",
            "ماجد القحطاني", "هدى المصري", "فيصل الدوسري"]

SECTIONS = ["world", "politics", "economy", "sports", "culture"]
PREFIX_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _check() -> None:
    # Cheap enough to run at import: a duplicate would silently break slug -> id decoding.
    slots = [(PLACES, AR_PLACES), (ACTORS, AR_ACTORS), (VERBS, AR_VERBS), (TOPICS, AR_TOPICS)]
    for en, ar in slots:
        assert len(en) == len(ar), (len(en), len(ar))
        for words in ([w.lower() for w in en], [t for _, t in ar]):
            assert len(set(words)) == len(words) and all(w.isalpha() for w in words), words


_check()
