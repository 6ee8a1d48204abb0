"""Answers on the sample corpus: known figures from the right article, refusals when unsupported."""

import pytest

from app.qa import BadQuestion
from tests.conftest import OCOP_DOC

SONG_MA, TA_TONG = "000_4f69736f366c6fd8", "004_1e938f9e399ad7c0"


@pytest.mark.parametrize("question", ["Mai Sơn có bao nhiêu sản phẩm OCOP?", "Mai Son co bao nhieu san pham OCOP?",
                                      "mai son co bao nhieu san pham ocop"])
def test_ocop_question(service, question):
    out = service.ask(question)
    assert out["found"] is True
    assert "20 sản phẩm OCOP" in out["answer"] and "10 sản phẩm 4 sao" in out["answer"]
    assert out["sources"][0]["doc_id"] == OCOP_DOC
    assert "20 sản phẩm OCOP" in out["sources"][0]["highlight"]
    assert out["model"] == "intfloat/multilingual-e5-small"
    assert set(out) == {"question", "answer", "found", "sources", "model", "span", "confidence"}
    assert out["span"] == "20 sản phẩm OCOP (trong đó 10 sản phẩm 4 sao, 10 sản phẩm 3 sao)"
    assert {"doc_id", "title", "text", "score"} <= set(out["sources"][0])


def test_each_district_gets_its_own_figure(service):
    song_ma = service.ask("Sông Mã có bao nhiêu trường đạt chuẩn quốc gia?")
    mai_son = service.ask("Huyện Mai Sơn có bao nhiêu trường đạt chuẩn quốc gia?")
    assert "44/53" in song_ma["answer"] and song_ma["sources"][0]["doc_id"] == SONG_MA
    # Mai Sơn's figure is cited from its own article. Which district's article comes first is a near
    # tie for this question (the query adapter swaps it with "Huyện Sông Mã có bao nhiêu ha xoài?",
    # whose article it now ranks first: docs/retrieval.md, twenty-second session).
    cited = [s for s in mai_son["sources"] if s["cited"]]
    assert "42/63" in mai_son["answer"] and cited[0]["doc_id"] == OCOP_DOC
    assert OCOP_DOC in [s["doc_id"] for s in mai_son["sources"][:2]]


@pytest.mark.parametrize("question, figure", [
    ("Tà Tổng kết nạp được bao nhiêu đảng viên mới?", "73 đảng viên mới"),
    ("Tỷ lệ bản, tổ dân phố ở Sông Mã có bí thư chi bộ đồng thời là trưởng bản đạt bao nhiêu?", "91,48%"),
    ("Diện tích 3 vùng sản xuất ứng dụng công nghệ cao của Mai Sơn là bao nhiêu?", "1.373,7 ha"),
])
def test_figures_keep_their_unit(service, question, figure):
    out = service.ask(question)
    assert out["found"] and figure in out["answer"]


def test_answer_cites_article_date_when_known(service):
    out = service.ask("Xã Tà Tổng có bao nhiêu đảng viên?")
    assert out["found"] and "212 đảng viên" in out["answer"] and "04/06/2023" in out["answer"]


@pytest.mark.parametrize("question", [
    "Huyện Yên Châu có bao nhiêu sản phẩm OCOP?",
    "Huyện Sông Mã có bao nhiêu sản phẩm OCOP?",
    "Ai là Bí thư Huyện ủy Mai Sơn?",  # the article names only its Phó Bí thư
    "Bi thu Huyen uy Song Ma la ai?",
    "Năm 2019 huyện Sông Mã tiêu thụ bao nhiêu tấn nhãn?",  # the article gives 2020's figures
    # Count questions whose passages count something else ("8 chương trình") or nothing at all.
    "Mỹ Xuyên có bao nhiêu hợp tác xã?",
    "Huyện Mỹ Xuyên có bao nhiêu trường đạt chuẩn quốc gia?",
    "Tỷ lệ hộ nghèo của xã Tà Tổng là bao nhiêu?",
])
def test_unsupported_questions_are_declined(service, question):
    out = service.ask(question)
    assert out["found"] is False
    assert out["answer"].startswith("Xin lỗi") and out["sources"], "declines politely and shows the closest passages"


@pytest.mark.parametrize("question", ["", "   ", "x" * 20000])
def test_bad_questions_raise_a_clear_error(service, question):
    with pytest.raises(BadQuestion):
        service.ask(question)


@pytest.mark.parametrize("question, span", [
    ("Mai Sơn có bao nhiêu sản phẩm OCOP?", "20 sản phẩm OCOP (trong đó 10 sản phẩm 4 sao, 10 sản phẩm 3 sao)"),
    ("Huyện Mỹ Xuyên thuộc tỉnh nào?", "Sóc Trăng"),
    ("Tà Tổng kết nạp được bao nhiêu đảng viên mới?", "73 đảng viên mới"),
])
def test_known_questions_get_known_spans_and_a_confidence(service, question, span):
    out = service.ask(question)
    assert out["found"] is True and span in out["span"]
    assert 0.0 <= out["confidence"] <= 1.0
    if "tỉnh nào" not in question:  # answered by its title's "(Sóc Trăng)", whatever the confidence
        assert out["confidence"] >= _threshold()
    assert len(out["answer"]) <= 400


@pytest.mark.parametrize("question", [
    "Mai Sơn có bao nhiêu sân bay?",  # "3 sân thể thao" counts no airport
    "Bí thư Huyện ủy Sông Mã được bầu trực tiếp tại Đại hội XXI là ai?",  # the articles name no one in that office
    "Đại hội Đảng bộ huyện Mỹ Xuyên lần thứ XII diễn ra ngày nào?",  # only its term "2020 - 2025" is given
    "Năm 2020 Sông Mã xếp thứ mấy về chỉ số cải cách hành chính của tỉnh?",  # only 2021's rank is given
    "Nhà máy nào thu mua dứa và ngô ngọt của nông dân Sông Mã?",  # "phục vụ nguyên liệu nhà máy" names none
    "Xa Ta Tong giap voi nhung xa nao?",  # only "xã Tà Tổng" itself is named
    "Ty le ho ngheo cua xa Ta Tong nam 2022 la bao nhieu phan tram?",  # "42%" are cultured families
    "Tong von dau tu xay dung Tru so trung tam hanh chinh - chinh tri huyen Mai Son la bao nhieu?",  # no amount
])
def test_questions_the_articles_do_not_answer_are_declined(service, question):
    out = service.ask(question)
    assert out["found"] is False and out["answer"].startswith("Xin lỗi")
    assert 0.0 <= out["confidence"] < _threshold()


def _threshold() -> float:
    from app.answer_model import load_model

    return load_model().threshold


@pytest.mark.parametrize("question, counted", [
    ("Huyện Mỹ Xuyên hiện có bao nhiêu hợp tác xã?", "hop tac"), ("mai son co bao nhieu san pham ocop", "san pham"),
    ("Huyện Mỹ Xuyên đã tổ chức mấy hội nghị?", "hoi nghi"), ("Mai Sơn có bao nhiêu hộ có cổng nhà?", "ho"), ("Tỷ lệ che phủ rừng là bao nhiêu?", ""),
    ("Có bao nhiêu người đi làm?", ""), ("Sông Mã thu về bao nhiêu tiền?", "tien"), ("Máy tính này dùng được mấy năm?", ""), ("Ai là Bí thư?", None),
    ("Máy bay hạ cánh ở đâu?", None), ("Sông Mã xóa được bao nhiêu căn nhà tạm?", "nha tam"),
    ("song ma xoa duoc bao nhieu can nha tam", "nha tam"),
    ("Mai Son co may truong dat chuan quoc gia?", "truong dat"),  # typed without accents, "may" is "mấy"
    ("Trụ sở có tổng mức đầu tư là bao nhiêu?", "tien"), ("thu ngan sach tang bao nhieu so voi nam 2021", "tien"),
    ("Doanh nghiệp có vốn nhà nước đầu tư được thử việc không quá bao nhiêu ngày?", ""),  # days, not money
    ("Thai nhi được bao nhiêu tuần mà tử vong?", "tuan"), ("Cập nhật tối đa bao nhiêu tiếng sau khi khám?", "tieng"),
    ("Bệnh nhân trải qua phẫu thuật bao nhiêu lâu?", "lau"), ("Các dấu hiệu kéo dài bao lâu?", "lau"),
])
def test_what_a_count_question_counts(question, counted):
    from app.question import parse

    assert parse(question).counted == counted


@pytest.mark.parametrize("counted, sentence, holds", [
    ("hop tac", "Toàn huyện có 181 HTX, trong đó có 26 hợp tác xã của bản.", True),
    ("hop tac", "Huyện ủy chỉ đạo xây dựng 8 chương trình tập trung.", False),
    ("san pham", "Tròn một năm với hai mùa nhãn, sản phẩm nông nghiệp tăng.", False),
    ("san bay", "Huyện có 3 sân thể thao.", False),
    ("ha cay", "Diện tích cây ăn quả đạt 11.200 ha (tăng 635 ha so với năm 2020).", True),
    ("truong dat", "Có 42/63 trường đạt chuẩn quốc gia.", True),
    ("nguoi", "Keira còn cứu sống ba người khác.", True),
    ("", "Tỷ lệ hộ nghèo còn cao, thu nhập bình quân đầu người/năm còn thấp.", False),
    ("", "Quyết tâm thực hiện đạt một số chỉ tiêu.", False),
    ("", "Khả năng thu hút nguồn lực đầu tư còn hạn chế.", False),  # "tư" of "đầu tư" is not four
    ("", "Tỷ lệ che phủ rừng đạt 46,5%.", True),
    ("tien", "Năm 2021, huyện lựa chọn 3 nội dung đột phá.", False),  # "bao nhiêu tiền" wants an amount
    ("tien", "Giá trị xuất khẩu năm 2021 đạt trên 995 tỷ đồng.", True),
    (None, "Không có con số nào.", True),
    ("lau", "Ca phẫu thuật kéo dài gần 2 giờ.", True), ("lau", "Các dấu hiệu phải kéo dài ít nhất 12 tháng.", True),
    ("lau", "Ê-kíp gồm 3 bác sĩ.", False),  # "bao lâu" asks a span of time
    ("tieng", "Cập nhật tối đa 12 giờ kể từ khi có y lệnh.", True),  # hours are "tiếng" or "giờ"
])
def test_a_count_is_answered_by_a_sentence_that_counts_it(counted, sentence, holds):
    from app.answer_rules import holds_count

    assert holds_count(counted, sentence) is holds


@pytest.mark.parametrize("sentence, holds", [
    ("Huyện ủy chỉ đạo thực hiện 8 chương trình đề ra.", False), ("Đến nay đã hoàn thành 5/8 chương trình.", True),
])
def test_the_figures_a_question_gives_do_not_answer_it(sentence, holds):
    from app.answer_rules import holds_count
    from app.question import parse

    question = parse("Trong 8 chương trình đề ra, Mỹ Xuyên đã xong mấy chương trình?")
    assert holds_count(question.counted, sentence, question.numbers) is holds


@pytest.mark.parametrize("question, years", [
    ("Năm 2019 huyện Sông Mã tiêu thụ bao nhiêu tấn nhãn?", ["2019"]), ("nam 2021 song ma xoa duoc bao nhieu nha tam", ["2021"]),
    ("Theo Bộ luật Dân sự năm 2015, tài sản gồm những gì?", []), ("Sông Mã có bao nhiêu ha nhãn?", []),
])
def test_the_years_a_question_is_set_in(question, years):
    from app.question import parse

    assert parse(question).years == years


@pytest.mark.parametrize("question, qtype", [
    ("Tại sao hai cậu bé bị khó tiểu?", "what"),  # "ai" inside "tại", "hai": not a who-question
    ("Ai là Phó Bí thư Thường trực Huyện ủy Mỹ Xuyên?", "who"), ("pho bi thu huyen uy song ma la ai", "who"),
    ("Xã đạt chuẩn nông thôn mới gồm những tiêu chí gì?", "what"),  # "chưa" is not in "chuẩn"
    ("Xã Tà Tổng đã đạt chuẩn nông thôn mới chưa?", "yes_no"),
    ("dai hoi xii dang bo huyen my xuyen dien ra vao thang may", "when"),  # "tháng mấy" asks a month, not a count
    ("Ai là người lái máy bay ném bom vào dinh Độc Lập?", "who"),  # "máy" is not "mấy"
    ("Nhà máy nào thu mua dứa?", "what"), ("Huyện tổ chức mấy hội nghị?", "how_many"), ("co may hoi nghi", "how_many"),
    ("Tà Tổng đặt mục tiêu ra khỏi diện đặc biệt khó khăn vào thời điểm nào?", "when"),
    ("Bao lâu thì nên khám mắt một lần?", "how_many"),
])
def test_question_types_read_whole_syllables(question, qtype):
    from app.question import parse

    assert parse(question).qtype == qtype


@pytest.mark.parametrize("question, sentence, holds", [
    ("Ai là Bí thư Huyện ủy Mai Sơn?", "Đồng chí Hà Văn Bình, Phó Bí thư thường trực Huyện ủy Mai Sơn cho biết.", False),
    ("Ai là Phó Bí thư Huyện ủy Mai Sơn?", "Đồng chí Hà Văn Bình, Phó Bí thư thường trực Huyện ủy Mai Sơn cho biết.", True),
    ("Ai là Bí thư Huyện ủy Mai Sơn?", "Phó Bí thư Lò Văn A và Bí thư Huyện ủy Cầm Văn B dự họp.", True),
    ("Bi thu Huyen uy Song Ma la ai?", "Đồng chí Lê Thị Hoa, Bí thư Đảng ủy thị trấn Sông Mã, cho biết.", False),  # another body
    ("Chủ tịch UBND huyện Mai Sơn là ai?", "Chủ tịch Ủy ban nhân dân huyện Mai Sơn Cầm Văn B dự họp.", True),
    ("Ai là chủ tịch tập đoàn Hòa Phát?", "Ông Trần Đình Long - Chủ tịch HĐQT Tập đoàn Hòa Phát.", True),
    ("tong giam doc cong ty Ba Son la ai", "Đại tá Nguyễn Mạnh Lân, Phó tổng giám đốc Tổng công ty Ba Son.", False),
    ("Ai là Bí thư Huyện ủy Mai Sơn?", "Huyện Mai Sơn có 20 sản phẩm OCOP.", False),  # names no Bí thư
    ("Mai Sơn có bao nhiêu sản phẩm OCOP?", "Huyện Mai Sơn có 20 sản phẩm OCOP.", True),  # asks no office
])
def test_an_office_is_held_by_a_sentence_naming_it(question, sentence, holds):
    from app.answer_rules import holds_office, offices_asked
    from app.question import folded_syllables

    assert holds_office(offices_asked(folded_syllables(question)), folded_syllables(sentence)) is holds


@pytest.mark.parametrize("question, sentence, holds", [
    ("Ai là tổng thống Nhật Bản?", "Thủ tướng Nhật Bản Shinzo Abe và Tổng thống Thụy Sỹ Alain Berset.", False),
    ("Tổng thống Tây Ban Nha là ai?", "Thủ tướng Tây Ban Nha tuyên bố gia hạn cho Tổng thống Venezuela Nicolas Maduro.", False),
    ("Ai là Thủ tướng Nhật Bản?", "Abe Shinzō là đương kim Thủ tướng Nhật Bản.", True),
    ("Ai là tổng thống Triều Tiên?", "Tổng thống Hàn Quốc tới Triều Tiên, ôm chặt nhà lãnh đạo Kim Jong Un.", False),
])
def test_a_head_of_state_is_of_the_country_asked(question, sentence, holds):
    from app.answer_rules import holds_office, offices_asked
    from app.question import folded_syllables, parse

    parsed = parse(question)
    assert holds_office(offices_asked(parsed.folded, parsed.places), folded_syllables(sentence)) is holds


def test_a_figure_is_read_in_its_own_phrase():
    from app.answer import shortest_span
    from app.question import parse

    sentence = ("Thu nhập bình quân đầu người đạt 17 triệu đồng (đạt 68%); tổng thu ngân sách trên địa bàn tuy còn "
                "nhiều khó khăn, song năm 2022 xã đã thu được 33 triệu đồng (vượt chỉ tiêu 3 triệu đồng).")
    span = shortest_span(parse("Năm 2022 xã Tà Tổng thu ngân sách được bao nhiêu?"), sentence)
    assert span.startswith("33 triệu đồng"), "the budget's words after ';' are not 68%'s context"


def test_a_reply_from_the_title_says_so():
    from app.answer import claim_of, compose_reply

    title = "Huyện Mỹ Xuyên (Sóc Trăng) nỗ lực triển khai nghị quyết vào cuộc sống"
    reply = compose_reply(title, {"title": title, "date": "2023-06-04"}, "Sóc Trăng", from_title=True)
    assert reply == f"{title} (tiêu đề bài viết, ngày 04/06/2023)."
    assert claim_of(reply) == title


@pytest.mark.parametrize("question, span", [
    ("Năm 2022 xã Tà Tổng thu ngân sách được bao nhiêu?", "33 triệu đồng"),
    ("huyen My Xuyen thuoc tinh nao", "Sóc Trăng"),  # only the title says it
    ("Ai là Phó Bí thư thường trực Huyện ủy Mai Sơn?", "Hà Văn Bình"),  # the sentence names him, its clause does not
])
def test_the_reply_states_what_was_asked(service, question, span):
    from app.answer import claim_of

    out = service.ask(question)
    assert out["found"] and out["span"].startswith(span) and span in claim_of(out["answer"])


@pytest.mark.parametrize("question, span", [
    ("Song Ma ban hanh 10 de an va 10 nghi quyet chuyen de vao ngay nao?", "14/12/2020"),
    ("Tà Tổng đặt mục tiêu thoát khỏi diện xã đặc biệt khó khăn vào năm nào?", "2025"),
    ("Năm 2021 Sông Mã xếp thứ mấy về cải cách hành chính của tỉnh?", "thứ 3"),
])
def test_a_date_question_is_answered_at_the_precision_asked(service, question, span):
    out = service.ask(question)
    assert out["found"] and span in out["answer"]


def test_who_holds_an_office_may_be_a_body():
    """'Các đồng chí Thường trực Huyện ủy là trưởng Ban chỉ đạo': the holder named is no person."""
    from app.candidates import FEATURES, candidates
    from app.question import parse

    sentence = "Các đồng chí Thường trực Huyện ủy là trưởng Ban chỉ đạo, tổ trưởng các tổ công tác."
    found = candidates(parse("Ai giữ vai trò trưởng Ban chỉ đạo thực hiện đề án?"), [{"text": sentence, "title": "", "score": 1.0}])
    assert found and all(c.features[FEATURES.index("role_ok")] == 1.0 for c in found)


@pytest.mark.parametrize("question, kind", [
    ("Nhà máy chế biến nào thu mua dứa?", "nha may"), ("Xa Ta Tong giap voi nhung xa nao?", "xa"),
    ("Lao động được đưa tới doanh nghiệp nào?", "doanh nghiep"), ("Huyện Mỹ Xuyên thuộc tỉnh nào?", "tinh"),
    ("Thành phần môi trường nào phải được quan trắc?", ""), ("Đặc tính nào của sản phẩm?", ""),
    ("Trong trường hợp nào thì được miễn?", ""), ("Sông Mã giúp những địa phương nào?", ""),
])
def test_which_kind_of_named_thing_a_question_asks_for(question, kind):
    from app.question import parse

    assert parse(question).kind_asked == kind.split()


@pytest.mark.parametrize("kind, sentence, names", [
    ("nha may", "Nông dân trồng 150 ha dứa, phục vụ nguyên liệu nhà máy.", False),
    ("nha may", "Dứa được bán cho nhà máy Đồng Giao.", True),
    ("doanh nghiep", "14 lao động đi làm việc tại Công ty Than Quảng Ninh theo hợp đồng.", True),
    ("xa", "Sau hơn 2 năm, Tà Tổng đã đạt được những kết quả; xã Tà Tổng phấn đấu.", False),  # the question's own
    ("xa", "Xã Tà Tổng giáp xã Mù Cả.", True),
    ("xa", "Cách huyện Mường Tè 50 km về phía Tây Bắc, xã Tà Tổng có diện tích 51.000 ha.", False),
    ("tinh", "Huế là tỉnh đầu tiên tiêm thí điểm vắc xin.", True),  # the name the kind is said of
    ("benh vien", "Bé được chuyển đến Bệnh viện đa khoa tỉnh Phú Thọ.", True),  # a few words on
    ("nha may", "Các Hợp tác xã lớn đã giúp đỡ các Hợp tác xã mới.", False),  # a firm word is no name
])
def test_a_which_question_is_answered_by_a_sentence_naming_one(kind, sentence, names):
    from app.answer_rules import names_kind
    from app.question import folded_syllables

    assert names_kind(kind.split(), sentence, folded_syllables("Xã Tà Tổng giáp với những xã nào?")) is names


@pytest.mark.parametrize("question, kin", [
    ("Ai là vợ của Nguyễn Tấn Dũng", "wife"), ("Con gái của Mỹ Linh", "daughter"), ("Con trai Hồ Ngọc Hà là ai", "son"),
    ("cha cua messi la ai", "father"), ("Mẹ của ca sĩ Quốc Tuấn là ai", "mother"), ("con gai cua my linh", "daughter"),
    ("Cha mẹ bé đã không làm gì?", ""), ("Con đường lây truyền chủ yếu của virus HPV là gì?", ""),
    ("Chồng của Valentina có khoảng bao nhiêu người con?", ""),  # a count, not who
    ("con duong lay truyen cua virus", ""),  # typed without accents, "của" must follow
])
def test_which_relative_a_question_asks_for(question, kin):
    from app.question import parse

    assert parse(question).kin_asked == kin


@pytest.mark.parametrize("kin, sentence, holds", [
    ("wife", "Cha của Nguyễn Tấn Dũng là Nguyễn Tấn Thử.", False),
    ("wife", "Bà Trần Thanh Kiệm, vợ của ông Nguyễn Tấn Dũng.", True),
    ("wife", "Bill Gates kết hôn với Melinda năm 1994.", True),
    ("daughter", "Apollo là con trai của Zeus và nữ thần Leto.", False),
    ("daughter", "Athena là con gái của Zeus.", True),
    ("father", "Thiago Messi là con trai đầu lòng của Messi.", False),
    ("child", "Trong khi đó , còn nhiều người hâm mộ.", False),  # "còn" is not "con"
    ("husband", "chong cua hari won la tran thanh", True),  # a page typed without accents
    ("child", "Bà Thảo sinh trưởng trong gia đình có điều kiện.", False),  # born, not giving birth
    ("father", "Bố mẹ cô đều sinh tại Israel.", False),  # parents, neither named
    ("father", "Bố chồng tiết lộ về cuộc sống Dương Mịch.", False),  # a father-in-law is not her father
    ("mother", "Hai mẹ con nàng Gal Gadot gây náo loạn.", False), ("child", "Hai mẹ con Mỹ Linh và Mỹ Anh.", True),
    ("", "Bất kỳ câu nào.", True),
])
def test_a_relative_is_named_by_a_sentence_saying_the_kinship(kin, sentence, holds):
    from app.answer_rules import holds_kin

    assert holds_kin(kin, sentence) is holds


def test_a_sentence_that_asks_answers_nothing():
    from app.answer_rules import asks
    from app.candidates import FEATURES, candidates
    from app.question import parse

    assert asks("Trảo Nha là một bút danh khác của nhà thơ nào sau đây ?") and asks("Vì sao “ăn quả nhớ kẻ trồng cây?”")
    assert asks("Tên khai sinh thời nhỏ của Bác Hồ là gì") and not asks("Bệnh có thể tái phát bất cứ lúc nào.")
    assert not asks("Trảo Nha là bút danh của nhà thơ Xuân Diệu.")
    passage = {"text": "Anh hùng nào lấy thân mình chèn pháo ? Anh hùng Tô Vĩnh Diện lấy thân mình chèn pháo.", "title": "", "score": 1.0}
    ok = {c.sentence.endswith("?"): c.features[FEATURES.index("role_ok")]
          for c in candidates(parse("Anh hùng lấy thân chèn pháo là ai"), [passage])}
    assert ok == {True: 0.0, False: 1.0}


@pytest.mark.parametrize("question, group", [
    ("Hai cá nhân ở Sông Mã được UBND tỉnh tặng bằng khen là ai?", ("2", "ca")),
    ("3 chương trình còn lại của Mỹ Xuyên là những chương trình nào?", ("3", "chuong")),
    ("Năm 2021 Sông Mã chọn 3 nội dung đột phá nào?", None),  # only a group the question opens with
    ("Trường hợp một trong các chủ sở hữu chết thì phần quyền của người đó thuộc về ai?", None),
    ("5 đảng viên ở Tà Tổng bị khiển trách vì lý do gì?", None),  # asks why, not who they are
    ("Trong 19 chỉ tiêu, Mai Sơn đang vướng ở chỉ tiêu nào?", None),  # one among 19
    ("Cách mạng Pháp 1789 đã lật đổ vua nào?", None),
])
def test_which_counted_group_a_question_asks_the_members_of(question, group):
    from app.question import parse

    assert parse(question).group_asked == group


@pytest.mark.parametrize("sentence, names", [
    ("Đã có 2 tập thể, 2 cá nhân được UBND tỉnh tặng bằng khen về thành tích học tập.", False),
    ("2 cá nhân được tặng bằng khen là Lò Văn Páo và Cầm Thị Lả.", True),
    ("Có 2 cá nhân được khen: ông Páo và bà Lả.", True),
    ("Huyện biểu dương những gương người tốt việc tốt.", True),  # counts no group: not judged here
])
def test_a_counted_group_is_answered_by_a_sentence_naming_its_members(sentence, names):
    from app.answer_rules import names_group

    assert names_group(("2", "ca"), sentence) is names


def test_a_rate_is_answered_by_a_sentence_about_what_it_measures():
    from app.question import parse

    assert parse("Tỷ lệ hộ nghèo của xã Tà Tổng là bao nhiêu?").rate_of == ["ho", "ngheo"]


@pytest.mark.parametrize("question, span", [
    ("Chị Hoàng Thị Ánh sinh hoạt ở Đảng bộ xã nào?", "Nà Nghịu"),
    ("Những lao động của xã Tà Tổng đi làm việc theo hợp đồng được đưa tới doanh nghiệp nào?", "Công ty Than Quảng Ninh"),
])
def test_which_one_is_answered_by_its_name(service, question, span):
    out = service.ask(question)
    assert out["found"] and span in out["answer"]


def test_a_count_after_a_classifier_is_answered(service):
    out = service.ask("Năm 2021 Sông Mã xóa được bao nhiêu căn nhà tạm, dột nát cho hộ nghèo?")
    assert out["found"] and out["span"].startswith("255"), "the article counts '255 nhà tạm', without 'căn'"


@pytest.mark.parametrize("question, part", [
    ("Vì sao Đảng bộ xã Tà Tổng đề nghị xóa tên 4 đảng viên?", "do bỏ sinh hoạt"),
    ("5 đảng viên ở Tà Tổng bị khiển trách vì lý do gì?", "do vi phạm chính sách dân số"),
])
def test_a_long_sentence_is_cut_around_what_was_asked(service, question, part):
    """The answering sentence is over 400 characters and holds no figure, name or date to cut around."""
    from app.answer import MAX_REPLY_CHARS

    out = service.ask(question)
    assert out["found"] and len(out["answer"]) <= MAX_REPLY_CHARS and "…" in out["answer"]
    assert part in out["answer"]


@pytest.mark.parametrize("question, sentence, span", [
    # The place says where the figures are from; "lũy kế đến nay" says which one is asked.
    ("Thu ngân sách huyện Mai Sơn lũy kế đến nay đạt bao nhiêu?",
     "Mai Sơn có 06/19 chỉ tiêu đã đạt; 01/19 chỉ tiêu gặp khó khăn (thu ngân sách theo Nghị quyết đến 2025 là "
     "820 tỷ đồng, nhưng kết quả lũy kế đến nay mới đạt 404 tỷ đồng); kinh tế tiếp tục phát triển.", "404 tỷ đồng"),
])
def test_the_figure_asked_for_is_the_span(question, sentence, span):
    from app.answer import shortest_span
    from app.question import parse

    assert shortest_span(parse(question, ["Mai Sơn"]), sentence) == span


@pytest.mark.parametrize("question, sentence, span", [
    ("Tổng thống Hàn Quốc là ai", "Moon Jae-in đắc cử tổng thống Hàn Quốc.", "Moon Jae-in"),
    ("Ai là lãnh đạo Triều Tiên?", "Nhà lãnh đạo Kim Jong-un đã tới Hà Nội - Việt Nam.", "Kim Jong-un"),
])
def test_a_hyphenated_name_is_whole(question, sentence, span):
    from app.answer import shortest_span
    from app.question import parse

    assert shortest_span(parse(question), sentence) == span


@pytest.mark.parametrize("text, names", [
    ("Nguyễn Thành Trung (sinh năm 1947) là phi công", ["Nguyễn Thành Trung"]),  # "Trung" after a family name
    ("Đồng chí Phạm Minh Chính, Trưởng ban Tổ chức Trung ương", ["Phạm Minh Chính"]),
    ("Ban Chấp hành Trung ương Đảng họp thường kỳ", []),  # bodies are no one
])
def test_person_names(text, names):
    from app.candidates import person_names

    assert person_names(text) == names


def test_figures_end_a_capitalised_name():
    from app.question import find_places

    assert find_places("Năm 2022 Ban Thường vụ Huyện ủy Sông Mã đăng ký mô hình gì?", []) == ["song ma"]


@pytest.mark.parametrize("question, places", [
    ("Ông Soo được các bác sĩ chuẩn bị gì?", []), ("Bà Khất Thị Oanh là người dân tộc nào?", ["khat thi oanh"]),
    ("Bí danh của Bác Hồ khi ở Pác Bó?", ["pac bo"]), ("Tổng thống Ba Lan là ai", ["ba lan"]),  # "Ba", not "Bà"
    ("ong soo duoc chuan bi gi", []),
])
def test_a_person_after_ong_or_ba_is_no_place(question, places):
    from app.question import find_places

    assert find_places(question, []) == places


def test_support_counts_other_passages_naming_the_candidates_answer():
    from app.candidates import FEATURES, candidates
    from app.question import parse

    passages = [{"text": "Ông Phạm Nhật Vượng là Chủ tịch Tập đoàn Vingroup.", "title": "Vingroup", "score": 3.0},
                {"text": "Tỷ phú Phạm Nhật Vượng sinh năm 1968.", "title": "Tỷ phú", "score": 2.0},
                {"text": "Tập đoàn Vingroup có trụ sở ở Hà Nội.", "title": "Vingroup", "score": 1.0}]
    support = {c.text: c.features[FEATURES.index("support")]
               for c in candidates(parse("Ai là chủ tịch tập đoàn Vingroup?"), passages)}
    assert support["Ông Phạm Nhật Vượng là Chủ tịch Tập đoàn Vingroup."] == 0.5  # one of the two others names him
    assert support["Tập đoàn Vingroup có trụ sở ở Hà Nội."] == 0.0  # "Hà Nội" is in no other passage


@pytest.mark.parametrize("sentence, title, reply_starts, subject", [
    ("Ông là tác giả của một số bài thơ nổi tiếng như Tây Tiến, Đôi bờ.", "Quang Dũng (tên thật là Bùi Đình Diệm)",
     "Ông Quang Dũng là tác giả", "Quang Dũng"),
    ("Ông là tác giả của bài thơ Tây Tiến.", "Napoléon", "Ông Napoléon là tác giả", "Napoléon"),  # a title that is a name
    ("Ông là tác giả của bài thơ Tây Tiến.", "Thơ ca kháng chiến", "Ông là tác giả", ""),  # a title that is not
    ("Ông Hà Văn Bình cho biết bài thơ Tây Tiến được yêu thích.", "Quang Dũng", "Ông Hà Văn Bình cho biết", ""),
    ("Bài thơ Tây Tiến được sáng tác năm 1948.", "Quang Dũng", "Bài thơ Tây Tiến", ""),
])
def test_a_who_answer_says_whom_its_pronoun_means(sentence, title, reply_starts, subject):
    """Wikipedia-style articles say "Ông là tác giả …" of the person their title names."""
    from app.answer import reply_for
    from app.candidates import Candidate
    from app.question import parse

    best = Candidate(sentence, sentence, 0, [])
    reply, clause, span = reply_for(parse("Bài thơ Tây Tiến do ai sáng tác?"), best, {"text": sentence, "title": title}, [best])
    assert reply.startswith(reply_starts) and clause == sentence
    assert span == subject or not subject


def test_a_one_passage_corpus_reads_as_certain_as_a_large_one():
    """Fusion z-scores each retriever over its candidates, so one chunk fuses to 0: its passage still
    leads (rel_score 1.0), and the confidence reads no score size that grows with the corpus."""
    from app.answer_model import load_model
    from app.candidates import FEATURES, candidates
    from app.question import parse

    text = "Xã Thử Nghiệm có 77 hợp tác xã kiểu mới, tăng 12 hợp tác xã so với năm trước."
    passage = {"text": text, "title": "Thông tin xã Thử Nghiệm", "score": 0.0, "ranks": {"bm25": 1, "dense": 1}}
    found = candidates(parse("Xã Thử Nghiệm có bao nhiêu hợp tác xã?"), [passage])
    assert found and all(c.features[FEATURES.index("rel_score")] == 1.0 for c in found)
    read = {FEATURES[i] for i in load_model().confidence_features}
    assert not read & {"top_score", "top_gap", "score_diff"}
