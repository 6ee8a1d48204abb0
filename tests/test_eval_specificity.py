"""eval/specificity.py: questions grouped by how many articles hold the rarest term they share with
their own article; a question that names nothing its article alone holds lands in the last group."""

from eval.datasets import Question
from eval.specificity import FIELD, group_of, label_specificity, rarest_shared
from ingest.documents import Article

HOSPITAL = "Bệnh nhân nhập viện trong tình trạng nguy kịch, các bác sĩ đã phẫu thuật cấp cứu."


def _corpus() -> list[Article]:
    articles = [Article(f"a{i:02d}", f"Ca bệnh thứ {i}", HOSPITAL, "test") for i in range(60)]
    articles[7] = Article("a07", "Mận hậu Mộc Châu", HOSPITAL + " Nông dân Mộc Châu thu hoạch mận hậu.", "test")
    for i in range(20, 40):  # a phrase twenty articles hold
        articles[i].text += " Gia đình đã sơ cứu cho nạn nhân tại nhà."
    return articles


def test_questions_are_grouped_by_the_rarest_term_they_share_with_their_article():
    questions = [
        Question("named", "Mộc Châu thu hoạch bao nhiêu tấn mận?", ["?"], ["a07"]),
        Question("twenty", "Người nhà sơ cứu cho nạn nhân như thế nào?", ["?"], ["a25"]),
        Question("generic", "Bệnh nhân nhập viện trong tình trạng nào?", ["?"], ["a30"]),
        Question("elsewhere", "Bệnh nhân nhập viện trong tình trạng nào?", ["?"], ["not-in-corpus"]),
        Question("nothing shared", "Thời tiết Hà Giang ra sao?", ["?"], ["a07"]),
        Question("own label", "Mộc Châu có mận không?", ["?"], ["a07"], fields={FIELD: "given"}),
    ]
    counts = rarest_shared(questions, _corpus())
    assert counts["named"] == 1  # "mộc" is in a07 alone
    assert counts["twenty"] == 20  # "sơ cứu", "nạn nhân": the twenty articles that tell of first aid
    assert counts["generic"] == 60
    assert "elsewhere" not in counts and "nothing shared" not in counts

    label_specificity(questions, _corpus())
    groups = {q.id: q.fields.get(FIELD) for q in questions}
    assert groups == {"named": "01-10 articles", "twenty": "11-50 articles", "generic": "51+ articles",
                      "elsewhere": None, "nothing shared": None, "own label": "given"}


def test_group_bounds_sort_in_order():
    assert [group_of(n) for n in (1, 10, 11, 50, 51, 900)] == [
        "01-10 articles", "01-10 articles", "11-50 articles", "11-50 articles", "51+ articles", "51+ articles"]
    assert sorted({group_of(n) for n in (900, 20, 3)}) == ["01-10 articles", "11-50 articles", "51+ articles"]
