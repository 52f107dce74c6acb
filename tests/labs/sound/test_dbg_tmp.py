from support.apptest import wait_until_done


def test_dbg(apptest):
    at = apptest("pages/sound.py")
    at.select_slider(key="sd_samples").set_value(200).run()
    at.number_input(key="sd_epochs").set_value(1).run()
    at.button(key="im_preset_shallow").click().run()
    at.button(key="sd_train").click().run()
    wait_until_done(at, key="sd_view", deadline_s=120, rerun=True)
    print("SUBHEADERS", [s.value for s in at.subheader])
    print("SEG", [(s.key, s.value) for s in at.get("button_group")])
    print("ERR", [e.value for e in at.error], [w.value for w in at.warning])
    print("EXC", at.exception)
    print([c.value for c in at.caption][-8:])
