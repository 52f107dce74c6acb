"""What the pages where a person builds a labelled set of files share (Your images, Sound):
class names that can be folder names, uploaders that empty once their files are taken in, the
report of what the last change did, naming each refused file, and `Collection`: the classes,
uploads, report and download of one such set, within the session's upload budget
(`dlviz.ui.upload_budget`)."""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dlviz.data.uploads import Problem
from dlviz.text import plural
from dlviz.ui import layout, upload_budget

GENERATIONS = "_dlviz_uploader_gen"
MAX_LISTED = 20  # refused files named in a report; the rest are counted


def class_name_problem(name: str, existing: list[str]) -> str:
    """Why `name` cannot be a new class ("" when it can): class names become folder names."""
    name = name.strip()
    if not name:
        return "Type a name for the class first."
    if name in existing:
        return f"There is already a class called {name}."
    if any(c in name for c in '/\\:*?"<>|') or name.startswith("."):
        return f'{name!r} cannot be a class name: leave out / \\ : * ? " < > | and a leading dot.'
    if len(name) > 60:
        return "Class names are at most 60 characters."
    return ""


def megabytes(n_bytes: int) -> int:
    """A byte limit in whole megabytes, rounded up (what st.file_uploader takes)."""
    return max(1, -(-n_bytes // 2**20))


def uploader_key(name: str) -> str:
    """An uploader's key. Each uploader gets a new key (so it empties) only after its own
    files were taken in (`taken_in`): files dropped on another uploader during that rerun are
    not lost with a replaced widget."""
    return f"{name}_{st.session_state.setdefault(GENERATIONS, {}).get(name, 0)}"


def taken_in(name: str) -> None:
    gen = st.session_state.setdefault(GENERATIONS, {})
    gen[name] = gen.get(name, 0) + 1


def show_report(r: dict[str, Any] | None) -> None:
    """A report ({"title", "problems", "kind": ok | info | warn | error}) of what the last
    change did: what was added, and each file that was refused, by name."""
    if not r:
        return
    text = r["title"]
    if r["problems"]:
        shown = r["problems"][:MAX_LISTED]
        text += "\n" + "\n".join(f"- {p}" for p in shown)
        if len(r["problems"]) > MAX_LISTED:
            text += f"\n- ... and {len(r['problems']) - MAX_LISTED} more"
    if r.get("advice"):  # what to do about the files refused for the upload budget, once
        text += "\n\n" + r["advice"]
    icon = {"ok": ":material/check_circle:", "info": ":material/info:"}.get(r["kind"])
    if r["kind"] == "error":
        st.error(text, icon=":material/error:")
    elif r["kind"] == "warn":
        st.warning(text, icon=":material/warning:")
    elif r["kind"] == "ok":
        st.success(text, icon=icon)
    else:
        st.info(text, icon=icon)


@dataclass(frozen=True)
class Collection:
    """A labelled set a person builds on a page (an ImageSet, a SoundSet: anything with
    `classes`, `problems`, `add_class`, `remove_class`, `add_files`, `add_zip`, `count` and
    `to_zip`), kept in session state under ``{prefix}_...`` keys: adding and removing
    classes, taking in uploads with a progress bar, the report of what happened, the ZIP
    uploader and the download. `noun` names one item ("image", "clip")."""

    prefix: str
    set_key: str
    version_key: str
    report_key: str
    noun: str
    make_set: Callable[[], Any]
    export_name: str  # the downloaded file's name, without .zip
    page: str = ""  # the page's name, in the upload budget's messages

    def init(self) -> None:
        ss = st.session_state
        ss.setdefault(self.version_key, 0)
        if self.set_key not in ss:
            ss[self.set_key] = self.make_set()

    def items(self) -> Any:
        return st.session_state[self.set_key]

    def changed(self) -> None:
        st.session_state[self.version_key] += 1

    def _say(
        self, title: str, kind: str, problems: list[str] | None = None, advice: str = ""
    ) -> None:
        st.session_state[self.report_key] = {
            "title": title,
            "problems": problems or [],
            "kind": kind,
            "advice": advice,
        }

    def add_class(self) -> None:
        """The Add class button's callback: the name typed, or why it cannot be a class."""
        ss = st.session_state
        name = ss[f"{self.prefix}_new_class"].strip()
        problem = class_name_problem(name, list(self.items().classes))
        if problem:
            self._say(problem, "error")
            return
        self.items().add_class(name)
        ss.pop(self.report_key, None)
        self.changed()

    def _held(self) -> None:
        """Tell the upload budget what the set holds now."""
        upload_budget.record(self.set_key, upload_budget.nbytes(self.items()), self.page_name)

    @property
    def page_name(self) -> str:
        return self.page or self.prefix

    def remove_class(self, name: str) -> None:
        self.items().remove_class(name)
        self._held()
        self._say(f"Removed class {name}.", "info")
        self.changed()

    def remove_all(self) -> None:
        st.session_state[self.set_key] = self.make_set()
        self._held()
        self._say("Removed every class.", "info")
        self.changed()

    def _take(self, target: str | None, f: Any, limits: Any, kept: int) -> tuple[int, int]:
        """One uploaded file into the set, within the upload budget: its bytes are claimed
        before they are read, what was decoded from them after; a file that does not fit is
        refused (a ZIP whole), with what was there before kept. Returns (items added, bytes
        the set holds now)."""
        s = self.items()
        page = self.page_name
        raw = getattr(f, "size", None)
        if not isinstance(raw, int):
            raw = len(f.getvalue())
        if problem := upload_budget.claim(self.set_key, kept + raw, page):
            s.problems.append(Problem(f.name, problem))
            return 0, kept
        before = {cls: len(items) for cls, items in s.classes.items()}
        if target is None:
            try:
                s.add_zip(f.getvalue(), limits)
            except zipfile.BadZipFile:
                s.problems.append(Problem(f.name, "is not a ZIP file (or it is damaged)"))
            except ValueError as e:  # UploadError: the whole ZIP is refused, with the reason
                s.problems.append(Problem(f.name, str(e)))
        else:
            s.add_files(target, [(f.name, f.getvalue())], limits)
        new = [item for cls, items in s.classes.items() for item in items[before.get(cls, 0) :]]
        grown = sum(upload_budget.nbytes(item) for item in new)
        if problem := upload_budget.claim(self.set_key, kept + grown, page):
            for cls in list(s.classes):  # the file's items out again, and its new classes
                if cls in before:
                    del s.classes[cls][before[cls] :]
                else:
                    del s.classes[cls]
            upload_budget.record(self.set_key, kept, page)
            s.problems.append(Problem(f.name, problem))
            return 0, kept
        return len(new), kept + grown

    def ingest(self, target: str | None, files: list[Any], limits: Any) -> None:
        """Decode uploaded `files` into class `target` (or, for ZIP files, into the classes
        their folders name), with a progress bar; the outcome is kept for `report()`."""
        s = self.items()
        before = len(s.problems)
        added = 0
        kept = upload_budget.nbytes(s)
        upload_budget.record(self.set_key, kept, self.page_name)
        bar = st.progress(0.0, text=f"Reading {plural(len(files), 'file')}...")
        for k, f in enumerate(files):
            n, kept = self._take(target, f, limits, kept)
            added += n
            bar.progress(
                (k + 1) / len(files), text=f"Reading {k + 1} of {plural(len(files), 'file')}..."
            )
        bar.empty()
        new, advice = [], []
        for p in s.problems[before:]:
            reason, said = upload_budget.split_advice(str(p))
            new.append(reason)
            if said and said not in advice:
                advice.append(said)
        del s.problems[:]  # shown once, with this upload; not kept for the session
        where = f" to {target}" if target else ""
        title = f"Added {plural(added, self.noun)}{where}." if added else ""
        title = title or ("Nothing was added." if new else "No files.")
        if new:
            title += f" {plural(len(new), 'file')} could not be used:"
        self._say(title, "warn" if new else "ok", new, " ".join(advice))
        self.changed()

    def report(self) -> None:
        """What the last change did: items added, and each file that was refused, by name."""
        show_report(st.session_state.get(self.report_key))

    def add_class_row(self, placeholder: str, help: str) -> None:
        """A name and an Add class button (Enter adds it too: they are a form)."""
        with st.form(f"{self.prefix}_add_class_form", clear_on_submit=True, border=False):
            # the button under the name on a narrow window, rather than its label cut short
            c1, c2 = layout.columns(
                [3, 1],
                key=f"{self.prefix}_add_class_row",
                min_width=140,
                vertical_alignment="bottom",
            )
            c1.text_input(
                "New class", key=f"{self.prefix}_new_class", placeholder=placeholder, help=help
            )
            c2.form_submit_button(
                "Add class",
                key=f"{self.prefix}_add_class",
                icon=":material/add:",
                on_click=self.add_class,
                width="stretch",
            )

    def class_header(self, cls: str, count: int) -> None:
        """A class's name and count, and its Remove button behind a confirmation."""
        with layout.row(f"{self.prefix}_class_head_{class_key(cls)}", spread=True):
            st.markdown(f"**{cls}** - {plural(count, self.noun)}")
            remove = st.popover("Remove", icon=":material/delete:")
        with remove:
            st.markdown(
                f"Remove **{cls}** and its {plural(count, self.noun)}?"
                if count
                else f"Remove **{cls}**?"
            )
            st.button(
                "Remove",
                key=f"{self.prefix}_remove_{class_key(cls)}",
                type="primary",
                on_click=self.remove_class,
                args=(cls,),
            )

    def uploader(
        self, name: str, target: str | None, limits: Any, max_bytes: int, **kwargs: Any
    ) -> None:
        """A file uploader (keyed ``{prefix}_{name}``) whose files go into class `target`
        (None: ZIPs of class folders); it empties once they are taken in."""
        key = f"{self.prefix}_{name}"
        files = st.file_uploader(
            key=uploader_key(key),
            accept_multiple_files=True,
            # a file bigger than the session's whole upload budget is not even sent
            max_upload_size=megabytes(min(max_bytes, upload_budget.session_cap())),
            **kwargs,
        )
        if files:
            self.ingest(target, files, limits)
            taken_in(key)
            st.rerun()

    def _export(self, items: Any, version: int) -> bytes:
        """The set as a ZIP, written once per version in this session's folder (only there).
        Called when the browser asks for the file, outside the script run: it takes the set
        it was given, not session state's."""
        from dlviz.ui.session_folder import session_folder

        path = session_folder() / f"{self.export_name}-{version}.zip"
        # The browser may ask for the file twice at once: one request must not remove, or
        # read half-written, the file the other is writing.
        with _EXPORT_LOCK:
            if not path.exists():
                for old in path.parent.glob(f"{self.export_name}-*.zip"):
                    if old != path:
                        old.unlink(missing_ok=True)
                tmp = path.with_suffix(".zip.tmp")
                tmp.write_bytes(items.to_zip())
                os.replace(tmp, path)
            return path.read_bytes()

    def download_button(self, help: str) -> None:
        version = st.session_state[self.version_key]
        items = self.items()
        st.download_button(
            "Download as ZIP",
            data=lambda: self._export(items, version),
            file_name=f"{self.export_name}.zip",
            mime="application/zip",
            key=f"{self.prefix}_download",
            icon=":material/download:",
            disabled=items.count() == 0,
            width="stretch",
            help=help,
        )

    def remove_all_button(self) -> None:
        """Remove all, behind a confirmation (drawn into the current row)."""
        remove = st.popover("Remove all", icon=":material/delete_sweep:", width="stretch")
        with remove:
            st.markdown(f"Remove every class and {self.noun}?")
            st.button(
                "Remove all",
                key=f"{self.prefix}_remove_all",
                type="primary",
                on_click=self.remove_all,
            )


_EXPORT_LOCK = threading.Lock()


def class_key(name: str) -> str:
    """A class's name as a short, safe widget-key part."""
    return hashlib.sha1(name.encode()).hexdigest()[:10]
