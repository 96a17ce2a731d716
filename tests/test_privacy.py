import polars as pl

from data_layer.domain.privacy import mask_personal, mask_phone_text


def test_names_and_phones_are_masked_unless_allowed():
    frame = pl.DataFrame(
        {
            "reporter_name": ["张三", "欧阳娜娜", None],
            "reporter_phone": ["13812341234", "0791-8888", None],
        }
    )
    masked = mask_personal(frame)
    assert masked["reporter_name"].to_list() == ["张*", "欧***", None]
    assert masked["reporter_phone"].to_list() == ["138****1234", "******88", None]
    assert mask_personal(frame, allowed=True).equals(frame)


def test_phone_numbers_in_free_text_are_masked():
    assert mask_phone_text("电话13812341234，备用15900001111") == "电话138****1234，备用159****1111"
