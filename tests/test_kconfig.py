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
