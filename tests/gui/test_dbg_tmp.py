from tests.gui.test_batch_dialog import *
def test_dbg(qtbot, window, photos, tmp_path):
    w = window
    dlg = w.open_batch_dialog()
    got = []
    dlg.open_requested.connect(lambda a, b: got.append((a, b)))
    dlg.add_inputs([str(photos)]); dlg.out_edit.setText(str(tmp_path / "o"))
    dlg.start(); wait_done(qtbot, dlg)
    view = dlg.table
    print("visible", view.isVisible(), view.viewport().size(), dlg.proxy.rowCount())
    rect = view.visualRect(dlg.proxy.index(0, 1))
    print("rect", rect)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    print("got", got)
    qtbot.wait(3000)
    print(w.doc.path, w.banner.text)
