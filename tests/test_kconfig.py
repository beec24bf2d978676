"""The options a tree's own defconfig and Kconfig give its build (cparse/kconfig.py), and the
profile reading a 3.x tree under its own option names."""

from __future__ import annotations

from pathlib import Path

from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.kconfig import read_config
from patchlint.cparse.profile import load_profile
from patchlint.source.tree import open_tree

KCONFIG = """\
config MMU
\tdef_bool y

config SMP
\tdef_bool y
\tselect USE_GENERIC_SMP_HELPERS

config NR_CPUS
\tint "Maximum number of CPUs"
\tdefault "64"

config SPLIT_PTLOCK
\tdef_bool y
\tdepends on SMP && NR_CPUS >= 4

config WIDE_ONLY
\tdef_bool y
\tdepends on NR_CPUS > 1024

config MEMCG_OLD
\tbool "Memory controller"
\tdepends on CGROUPS
\thelp
\t  config NOT_AN_OPTION
\t  def_bool y

if DEBUG_KERNEL
config DEBUG_THING
\tdef_bool y
endif

choice
\tprompt "Preemption"
\tdefault PREEMPT_NONE

config PREEMPT_NONE
\tbool "No forced preemption"

config PREEMPT
\tbool "Preemptible kernel"
endchoice
"""


def _config(defconfig: str):
    files = {"arch/s390/defconfig": defconfig.encode(), "arch/s390/Kconfig": KCONFIG.encode()}
    return read_config(files.get, ["arch/s390/configs/defconfig", "arch/s390/defconfig"], ["arch/s390/Kconfig"])


def test_defconfig_then_kconfig_defaults_selects_and_choices():
    c = _config("CONFIG_CGROUPS=y\nCONFIG_MEMCG_OLD=y\nCONFIG_EXT4_FS=m\n# CONFIG_SWAP is not set\n")
    d = c.defines()
    assert c.defconfig == "arch/s390/defconfig"  # 3.x's place, the 6.x one being absent
    assert d["CONFIG_MEMCG_OLD"] == "1" and c.options["CONFIG_MEMCG_OLD"].source == "arch/s390/defconfig:2"
    assert d["CONFIG_MMU"] == "1" and c.options["CONFIG_MMU"].source.endswith("(Kconfig default)")
    assert c.options["CONFIG_USE_GENERIC_SMP_HELPERS"].source.endswith("(selected by CONFIG_SMP)")
    assert d["CONFIG_NR_CPUS"] == "64"  # an int default, as autoconf.h writes it
    assert d["CONFIG_SPLIT_PTLOCK"] == "1" and "CONFIG_WIDE_ONLY" not in d  # numeric dependencies
    assert "CONFIG_DEBUG_THING" not in d  # inside `if DEBUG_KERNEL`, which is off
    assert "CONFIG_NOT_AN_OPTION" not in d  # help text is not Kconfig
    assert d["CONFIG_PREEMPT_NONE"] == "1" and "CONFIG_PREEMPT" not in d  # the choice's default
    assert d["CONFIG_EXT4_FS_MODULE"] == "1" and "CONFIG_EXT4_FS" not in d  # =m, as autoconf.h
    assert "CONFIG_SWAP" not in d


def test_a_defconfig_line_decides_and_a_choice_member_set_there_wins():
    c = _config("CONFIG_PREEMPT=y\nCONFIG_NR_CPUS=2\n")
    d = c.defines()
    assert d["CONFIG_PREEMPT"] == "1" and "CONFIG_PREEMPT_NONE" not in d
    assert "CONFIG_SPLIT_PTLOCK" not in d  # NR_CPUS >= 4 no longer holds
    assert "CONFIG_MEMCG_OLD" not in d  # a prompt without a default: on only where the defconfig says


def _tree(tmp_path: Path, defconfig: str) -> FunctionIndex:
    root = tmp_path / "linux"
    (root / "arch/s390").mkdir(parents=True, exist_ok=True)
    (root / "mm").mkdir(exist_ok=True)
    (root / "Makefile").write_text("VERSION = 3\nPATCHLEVEL = 3\nSUBLEVEL = 8\n")
    (root / "arch/s390/defconfig").write_text(defconfig)
    (root / "mm/memcontrol.c").write_text(
        "#ifdef CONFIG_CGROUP_MEM_RES_CTLR\n"
        "void mem_cgroup_print_bad_page(struct page *page)\n{\n\tprintk(\"bad\");\n}\n"
        "#endif\n")
    return FunctionIndex(open_tree(str(root), None), load_profile("s390"), SummaryCache(enabled=False))


def test_a_3x_tree_is_read_under_its_own_option_names(tmp_path):
    """The s390 profile's table says CONFIG_MEMCG (6.x); a 3.3 tree's defconfig turns on
    CONFIG_CGROUP_MEM_RES_CTLR, and the code under it is read.  Only the defconfig decides."""
    on = _tree(tmp_path, "CONFIG_CGROUPS=y\nCONFIG_CGROUP_MEM_RES_CTLR=y\n")
    assert [d.name for d in on.definitions("mem_cgroup_print_bad_page")] == ["mem_cgroup_print_bad_page"]
    off = _tree(tmp_path / "off", "CONFIG_CGROUPS=y\n# CONFIG_CGROUP_MEM_RES_CTLR is not set\n")
    assert off.definitions("mem_cgroup_print_bad_page") == []


MEMORY_C = """\
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(table_lock);

{guard}
void report_bad_entry(void *entry)
{{
	printk("bad entry %p\\n", entry);
}}
#endif

void walk_table(void *entry)
{{
	spin_lock(&table_lock);
	report_bad_entry(entry);
	spin_unlock(&table_lock);
}}
"""


def _check_compiled_out(tmp_path: Path, guard: str) -> list[dict]:
    import json
    import subprocess
    import sys

    root = tmp_path / "linux"
    (root / "mm").mkdir(parents=True)
    (root / "Makefile").write_text("VERSION = 3\nPATCHLEVEL = 3\nSUBLEVEL = 8\n")
    (root / "mm/table.c").write_text(MEMORY_C.format(guard=guard))
    git = ["git", "-C", str(root), "-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    text = (root / "mm/table.c").read_text()
    (root / "mm/table.c").write_text(text.replace('\tprintk("bad entry %p\\n", entry);\n',
                                                  '\tprintk("bad entry %p\\n", entry);\n\tmsleep(10);\n'))
    subprocess.run([*git, "commit", "-qam", "mm: wait after a bad entry"], check=True)
    patch = subprocess.run([*git, "format-patch", "-1", "--stdout"], check=True, capture_output=True).stdout
    subprocess.run([*git, "reset", "-q", "--hard", "HEAD~1"], check=True)
    proc = subprocess.run([sys.executable, "-m", "patchlint", "check", "--no-model", "--format", "json",
                           "--tree", str(root), "-"], input=patch, capture_output=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return json.loads(proc.stdout)["findings"]


def test_a_patch_to_code_the_profile_compiles_out_is_checked_with_the_option_that_builds_it(tmp_path):
    """A sleep added under `#ifdef CONFIG_DEBUG_VM` (off in s390's build) is found, saying the
    option it needed; the same code under an option the build has is found plainly."""
    out = _check_compiled_out(tmp_path / "a", "#ifdef CONFIG_DEBUG_VM")
    sleeps = [f for f in out if f["kind"] == "sleep-in-atomic" and f["status"] == "new"]
    assert len(sleeps) == 1 and sleeps[0]["function"] == "report_bad_entry"
    assert sleeps[0]["message"].endswith("(with CONFIG_DEBUG_VM, which the s390 profile builds otherwise)")
    built = _check_compiled_out(tmp_path / "b", "#ifdef CONFIG_SMP")
    sleeps = [f for f in built if f["kind"] == "sleep-in-atomic" and f["status"] == "new"]
    assert len(sleeps) == 1 and "(with " not in sleeps[0]["message"]


def test_lines_no_flip_brings_in_are_said_to_be_unread(tmp_path):
    out = _check_compiled_out(tmp_path, "#if defined(CONFIG_DEBUG_VM) && 0")
    (incomplete,) = [f for f in out if f["kind"] == "analysis-incomplete"]
    assert "which the s390 profile compiles out (`#if defined(CONFIG_DEBUG_VM) && 0`" in incomplete["message"]
    assert not [f for f in out if f["kind"] == "sleep-in-atomic"]
