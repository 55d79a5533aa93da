"""The CLI: ``python -m casefiles COMMAND ...`` for batch work and scripts.

Every command calls the same :mod:`casefiles.services` functions as the pages.
Errors print one plain line to stderr and exit non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from casefiles.config import Settings, settings_from_env
from casefiles.errors import CaseDeckError
from casefiles.model import CASE_EDITABLE_FIELDS
from casefiles.progress import ProgressFn

# Start-up stays cheap: each command imports what it needs when it runs (the account CLI alone pulls
# in argon2, LDAP and the notifications, about a second), and the commands registered by other
# modules (_MODULE_COMMANDS) are only registered when one of them runs or every command is listed.

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_QUARANTINED = 3


def _progress_printer(enabled: bool) -> ProgressFn:
    def report(done: int, total: int, message: str) -> None:
        if enabled and total:
            print(f"\r{message} ({done}/{total})", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return report


def _settings(args: argparse.Namespace) -> Settings:
    if args.data:
        return Settings(data_dir=Path(args.data).resolve())
    return settings_from_env()


def cmd_import(args: argparse.Namespace) -> int:
    from casefiles.services import open_services

    services = open_services(_settings(args))
    report = services.import_dicom(
        [Path(p) for p in args.paths],
        title=args.title,
        author=args.author or "",
        progress=_progress_printer(sys.stderr.isatty()),
    )
    for case_id in report.case_ids:
        print(case_id)
    print(
        f"{report.instances_imported} instance(s) imported from {report.files_seen} file(s); "
        f"{report.duplicates_skipped} duplicate(s) skipped; {len(report.problems)} problem(s); "
        f"{report.burned_in_flagged} image(s) flagged for possible burned-in text.",
        file=sys.stderr,
    )
    for problem in report.problems:
        print(f"  problem: {problem.item}: {problem.reason}", file=sys.stderr)
    for duplicate in report.duplicates:
        where = ", ".join(duplicate.existing_case_ids)
        merge = "".join(f"; to merge: case merge {new} --into {old}" for old, new in duplicate.merge_offers())
        print(
            f"  already in the library: case {where} ({duplicate.instances_already} image(s) there already, "
            f"{duplicate.instances_new} new){merge}",
            file=sys.stderr,
        )
    return EXIT_OK if report.case_ids or not report.problems else EXIT_FAILED


def cmd_deid(args: argparse.Namespace) -> int:
    from casefiles.batch_deid import deidentify_tree
    from casefiles.deid import PROFILES, Deidentifier, load_or_create_secret

    profile = PROFILES.get(args.profile)
    if profile is None:
        print(f"Unknown profile {args.profile!r}; choose one of: {', '.join(PROFILES)}.", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    deidentifier = Deidentifier(load_or_create_secret(settings.secret_path), profile)
    report = deidentify_tree(
        Path(args.src),
        Path(args.dst),
        deidentifier,
        progress=_progress_printer(sys.stderr.isatty()),
        workers=args.workers,
    )
    if args.report:
        Path(args.report).write_text(report.to_json(), encoding="utf-8")
    print(
        f"{report.written} of {report.files_seen} file(s) de-identified; {report.quarantined} quarantined; "
        f"{len(report.problems) - report.quarantined} skipped.",
        file=sys.stderr,
    )
    for problem in report.problems:
        print(f"  file {problem.ordinal}: {problem.reason}", file=sys.stderr)
    return EXIT_QUARANTINED if report.quarantined else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from casefiles.services import open_services

    services = open_services(_settings(args))
    out = services.export(
        args.id,
        args.format,
        Path(args.out),
        template=Path(args.template) if args.template else None,
        pdf_layout=args.layout,
        progress=_progress_printer(sys.stderr.isatty()),
    )
    print(out)
    return EXIT_OK


def cmd_import_package(args: argparse.Namespace) -> int:
    from casefiles.services import open_services

    services = open_services(_settings(args))
    result = services.import_package(Path(args.path), progress=_progress_printer(sys.stderr.isatty()))
    for case_id in result.case_ids:
        print(case_id)
    print(f"conference {result.conference_id}: {len(result.case_ids)} case(s) imported", file=sys.stderr)
    for problem in result.problems:
        print(f"  problem: {problem.item}: {problem.reason}", file=sys.stderr)
    return EXIT_OK if result.case_ids else EXIT_FAILED


def cmd_conference(args: argparse.Namespace) -> int:
    from casefiles.model import ConferenceKind
    from casefiles.services import open_services

    services = open_services(_settings(args))
    if args.action == "list":
        for conference in services.list_conferences():
            print(f"{conference.id}\t{conference.kind.value}\t{conference.title}\t{len(conference.items)} case(s)")
        return EXIT_OK
    if args.action in ("edit", "delete"):
        return _conference_edit_or_delete(services, args)
    if not args.title:
        print("conference create needs --title.", file=sys.stderr)
        return EXIT_USAGE
    created = services.create_conference(
        args.title,
        ConferenceKind(args.kind or ConferenceKind.TUMOR_BOARD.value),
        date=dt.date.fromisoformat(args.date) if args.date else None,
        presenters=args.presenter or (),
        case_ids=args.case or (),
    )
    print(created.id)
    return EXIT_OK


def _conference_edit_or_delete(services: Any, args: argparse.Namespace) -> int:
    """``conference edit ID --title/--date/--kind`` and ``conference delete ID [--yes]``."""
    if not args.id:
        print(f"conference {args.action} needs the conference id (see conference list).", file=sys.stderr)
        return EXIT_USAGE
    conference = services.get_conference(args.id)
    if args.action == "edit":
        changes = {
            name: value
            for name, value in (("title", args.title), ("date", args.date), ("kind", args.kind))
            if value is not None
        }
        if args.presenter is not None:
            changes["presenters"] = args.presenter
        if not changes:
            print(
                "conference edit needs --title, --date (YYYY-MM-DD, or '' to clear), --kind or --presenter.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        edited = services.update_conference(conference.id, changes)
        when = edited.date.isoformat() if edited.date else "no date"
        print(f"{edited.id}\t{edited.kind.value}\t{when}\t{edited.title}")
        return EXIT_OK
    what = f"conference “{conference.title}” ({len(conference.items)} case(s); the cases stay in the library)"
    if not args.yes:
        print(f"would delete the {what}; add --yes to delete it.", file=sys.stderr)
        return EXIT_FAILED
    services.delete_conference(conference.id)
    print(f"deleted the {what}")
    return EXIT_OK


def cmd_case(args: argparse.Namespace) -> int:
    """``case show|edit|delete|key|merge``: the Case and Library pages' edits, scriptable."""
    from casefiles.services import open_services

    services = open_services(_settings(args))
    if args.action == "show":
        return _case_show(services, args.id)
    if args.action == "edit":
        changes = {name: getattr(args, name) for name in CASE_EDITABLE_FIELDS if getattr(args, name) is not None}
        if not changes:
            print(
                "case edit needs at least one of --"
                + ", --".join(f.replace("_", "-") for f in CASE_EDITABLE_FIELDS)
                + ".",
                file=sys.stderr,
            )
            return EXIT_USAGE
        case = services.update_case(args.id, changes)
        print(f"{case.id}: saved {', '.join(sorted(changes))}")
        return EXIT_OK
    if args.action == "delete":
        deletion = services.case_deletion(args.id)
        if not args.yes:
            print(f"would delete {deletion.summary()}; add --yes to delete it.", file=sys.stderr)
            return EXIT_FAILED
        services.delete_case(args.id)
        print(f"deleted {deletion.summary()}")
        return EXIT_OK
    if args.action == "merge":
        if not args.into:
            print("case merge ID needs --into TARGET_ID (the case that keeps everything).", file=sys.stderr)
            return EXIT_USAGE
        source = services.case_deletion(args.id)
        if not args.yes:
            print(
                f"would move everything of {source.summary()} into case {args.into}, then delete it; add --yes.",
                file=sys.stderr,
            )
            return EXIT_FAILED
        merged = services.merge_cases(args.into, args.id)
        print(f"merged into {merged.id}: {len(merged.assets)} item(s), {len(merged.key_images)} key image(s)")
        return EXIT_OK
    return _case_key(services, args)


def _case_show(services: Any, case_id: str) -> int:
    from casefiles.release import case_name

    case = services.get_case(case_id)
    print(f"{case.id}\t{case.modality}\t{case_name(case)}")
    for label, value in (
        ("history", case.history),
        ("findings", case.findings),
        ("diagnosis", case.diagnosis),
        ("differential", "; ".join(case.differential)),
        ("teaching points", "; ".join(case.teaching_points)),
        ("tags", ", ".join(case.tags)),
        ("body part", case.body_part),
        ("difficulty", case.difficulty.value),
        ("author", case.author),
    ):
        if value:
            print(f"{label}: {value}")
    in_conferences = [c.title for c in services.list_conferences() if case.id in c.case_ids]
    if in_conferences:
        print(f"in conference(s): {', '.join(in_conferences)}")
    print(f"{len(case.assets)} item(s):")
    for number, asset in enumerate(case.assets, start=1):
        print(f"  {number}. {asset.kind.value}\t{asset.label}\t{asset.frame_count} frame(s)")
    _print_keys(case)
    return EXIT_OK


def _print_keys(case: Any) -> None:
    print(f"{len(case.key_images)} key image(s):")
    numbers = {a.id: n for n, a in enumerate(case.assets, start=1)}
    for number, key in enumerate(case.key_images, start=1):
        caption = f"\t{key.caption}" if key.caption else ""
        print(f"  {number}. item {numbers.get(key.asset_id, '?')}, frame {key.frame + 1}{caption}")


def _case_key(services: Any, args: argparse.Namespace) -> int:
    """``case key ID``: list; ``--item N --frame F`` marks or unmarks that frame as key image."""
    case = services.get_case(args.id)
    if args.item is not None:
        if not 1 <= args.item <= len(case.assets):
            print(f"case key --item N needs N from 1 to {len(case.assets)} (see case show).", file=sys.stderr)
            return EXIT_USAGE
        asset = case.assets[args.item - 1]
        if not 1 <= args.frame <= asset.frame_count:
            print(f"case key --frame F needs F from 1 to {asset.frame_count} for item {args.item}.", file=sys.stderr)
            return EXIT_USAGE
        before = len(case.key_images)
        case = services.toggle_key_image(case.id, asset.id, args.frame - 1, None)
        marked = "marked" if len(case.key_images) > before else "unmarked"
        print(f"item {args.item}, frame {args.frame} {marked} as key image")
    _print_keys(case)
    return EXIT_OK


def cmd_seed(args: argparse.Namespace) -> int:
    from casefiles.samples import seed_samples
    from casefiles.services import open_services

    services = open_services(_settings(args))
    created = seed_samples(services, force=args.force)
    for case_id in created:
        print(case_id)
    print(f"{len(created)} sample case(s) added.", file=sys.stderr)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from casefiles.release import case_name
    from casefiles.services import CaseFilter, open_services

    services = open_services(_settings(args))
    for case in services.list_cases(CaseFilter(text=args.text or "", modality=args.modality or "")):
        # A title made by older free-text rules is not printed: the case is named by its id until re-checked.
        print(f"{case.id}\t{case.modality}\t{case_name(case)}\t{len(case.key_images)} key image(s)")
    return EXIT_OK


def cmd_recheck(args: argparse.Namespace) -> int:
    """Bring stored cases up to the current de-identification rules; print counts, then what is still held."""
    from casefiles.services import open_services

    services = open_services(_settings(args))
    case_ids = [args.case] if args.case else None
    report = services.recheck(case_ids, progress=_progress_printer(sys.stderr.isatty()))
    print(report.summary())
    held = services.release_blockers(args.case) if args.case else services.library_blockers()
    if held:
        print(f"{len({b.case_id for b in held})} case(s) still held back until a person has looked:")
        for blocker in held:
            print(f"  {blocker.case_id}: {blocker.item} {blocker.reason}")
    return EXIT_OK


def cmd_store(args: argparse.Namespace) -> int:
    """Library maintenance: migrate to PostgreSQL, check files, back up and restore."""
    from casefiles.store import maintenance
    from casefiles.store.blobs import LocalBlobStore
    from casefiles.store.opening import open_store
    from casefiles.store.tinydb_store import TinyDBCaseStore

    settings = _settings(args)
    progress = _progress_printer(sys.stderr.isatty())
    lock = settings.data_dir / "maintenance.lock"
    if args.store_command == "migrate":
        from casefiles.store.postgres_store import PostgresCaseStore

        with maintenance.exclusive_job(lock, "migration"):
            target = PostgresCaseStore(args.to)
            report = maintenance.copy_library(open_store(settings), target, progress=progress)
        print(report.summary())
        print("Set CASEDECK_DATABASE_URL to that URL to use the PostgreSQL library from now on.", file=sys.stderr)
        return EXIT_OK
    if args.store_command == "check":
        checked = maintenance.check_library(
            open_store(settings),
            LocalBlobStore(settings.blob_dir),
            remove_orphans=args.remove_orphans,
            progress=progress,
        )
        print(checked.summary())
        return EXIT_FAILED if checked.problems else EXIT_OK
    if args.store_command == "backup":
        dest = Path(args.dest)
        with maintenance.exclusive_job(lock, "backup"):
            # Each case's files go with it, read again if one was replaced meanwhile: a consistent snapshot.
            files = (LocalBlobStore(settings.blob_dir), LocalBlobStore(dest / "blobs"))
            report = maintenance.copy_library(
                open_store(settings), TinyDBCaseStore(dest / "library"), files=files, progress=progress
            )
            copied, missing = report.files_copied, report.files_missing
        key_path = Path(args.key_to) if args.key_to else dest / "installation.key"
        maintenance.copy_key(settings.secret_path, key_path)
        print(report.summary())
        print(f"{copied} file(s) copied." + (f" {missing} file(s) were missing." if missing else ""))
        print(
            "The installation key was written apart from the library; keep it as safe as the library itself "
            "(with it, pseudonyms and remapped UIDs can be linked across imports).",
            file=sys.stderr,
        )
        return EXIT_FAILED if missing else EXIT_OK
    if args.store_command == "restore":
        source = Path(args.source)
        with maintenance.exclusive_job(lock, "restore"):
            store = open_store(settings)
            maintenance.require_empty(store)
            key_path = Path(args.key_from) if args.key_from else source / "installation.key"
            maintenance.restore_key(key_path, settings.secret_path)
            backup = TinyDBCaseStore(source / "library")
            files = (LocalBlobStore(source / "blobs"), LocalBlobStore(settings.blob_dir))
            report = maintenance.copy_library(backup, store, files=files, progress=progress)
            copied, missing = report.files_copied, report.files_missing
        print(report.summary())
        print(f"{copied} file(s) restored." + (f" {missing} file(s) were missing in the backup." if missing else ""))
        return EXIT_FAILED if missing else EXIT_OK
    raise CaseDeckError("Choose a store command: migrate, check, backup or restore.")


def _node_from_args(args: argparse.Namespace) -> Any:
    import os

    from casefiles.pacs import PacsNode

    secret = ""
    if args.secret_env:
        secret = os.environ.get(args.secret_env, "")
        if not secret:
            raise CaseDeckError(f"The environment variable {args.secret_env} named by --secret-env is empty or unset.")
    common: dict[str, Any] = {
        "our_ae_title": args.our_ae,
        "our_port": args.our_port,
        "retrieve": args.retrieve,
        "auth": args.auth,
        "username": args.username or "",
        "secret": secret,
        "tls": args.tls,
        "ca_file": args.ca_file or "",
    }
    if args.protocol == "dicomweb":
        return PacsNode.dicomweb(args.node, args.base_url or "", **common)
    return PacsNode(args.node, args.ae, args.host, args.port, **common)


def cmd_pacs(args: argparse.Namespace) -> int:
    from casefiles.services import open_services

    services = open_services(_settings(args))
    pacs = services.pacs
    if args.action == "nodes":
        for node in pacs.nodes():
            where = node.base_url if node.protocol == "dicomweb" else f"{node.ae_title}@{node.host}:{node.port}"
            print(f"{node.name}\t{node.protocol}\t{where}\tus: {node.our_ae_title}:{node.our_port}")
        return EXIT_OK
    if not args.node:
        print(f"pacs {args.action} needs --node NAME.", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "add-node":
        if args.protocol == "dimse" and not (args.ae and args.host and args.port):
            print(
                "pacs add-node needs --ae, --host and --port (or --protocol dicomweb --base-url URL).", file=sys.stderr
            )
            return EXIT_USAGE
        pacs.save_node(_node_from_args(args))
        print(f"saved PACS node {args.node}")
        return EXIT_OK
    if args.action == "remove-node":
        pacs.delete_node(args.node)
        print(f"removed PACS node {args.node}")
        return EXIT_OK
    if args.action == "echo":
        how = "the QIDO probe" if pacs.node(args.node).protocol == "dicomweb" else "C-ECHO"
        print(f"{args.node} answered {how} in {pacs.echo(args.node) * 1000:.0f} ms")
        return EXIT_OK
    if args.action == "find":
        return _pacs_find(pacs, args)
    if args.action == "push":
        return _pacs_push(pacs, args)
    if not args.accession:
        print("pacs pull needs at least one --accession.", file=sys.stderr)
        return EXIT_USAGE
    report, conference = pacs.pull_accessions(
        args.node,
        args.accession,
        conference_title=args.conference,
        progress=_progress_printer(sys.stderr.isatty()),
    )
    for case_id in report.case_ids:
        print(case_id)
    print(
        f"{report.studies_retrieved} study(ies), {report.instances_imported} image(s) imported and de-identified"
        + (f"; conference {conference.id}" if conference else ""),
        file=sys.stderr,
    )
    for problem in report.problems:
        print(f"  problem: {problem.item}: {problem.reason}", file=sys.stderr)
    return EXIT_OK if not report.problems else EXIT_FAILED


def _pacs_find(pacs: Any, args: argparse.Namespace) -> int:
    if args.accession:
        search = pacs.find_accessions(args.node, args.accession)
        matches, problems = list(search.matches), list(search.problems)
    else:
        if not (args.patient_id or args.name or args.date_from or args.date_to or args.modality):
            print(
                "pacs find needs --accession, or --patient-id/--name with optional dates and modality.", file=sys.stderr
            )
            return EXIT_USAGE
        matches = pacs.find(
            args.node,
            patient_id=args.patient_id,
            patient_name=args.name,
            date_from=args.date_from,
            date_to=args.date_to,
            modality=args.modality,
        )
        problems = []
    # The study list is shown to the person who asked the PACS; it is never logged or stored.
    for m in matches:
        modalities = "/".join(m.modalities)
        print(f"{m.accession}\t{m.study_date}\t{modalities}\t{m.description}\t{m.instance_count} images")
    print(f"{len(matches)} study(ies)", file=sys.stderr)
    for problem in problems:
        print(f"  problem: {problem.item}: {problem.reason}", file=sys.stderr)
    return EXIT_OK


def _pacs_push(pacs: Any, args: argparse.Namespace) -> int:
    if not args.case:
        print("pacs push needs at least one --case CASE_ID.", file=sys.stderr)
        return EXIT_USAGE
    failed = 0
    for case_id in args.case:
        result = pacs.push_case(case_id, args.node, progress=_progress_printer(sys.stderr.isatty()))
        print(f"{case_id}\t{result.sent} sent\t{result.failed} refused")
        failed += result.failed
    return EXIT_OK if not failed else EXIT_FAILED


def cmd_annotations(args: argparse.Namespace) -> int:
    import json

    from casefiles.annotations.model import annotations_to_list
    from casefiles.case_dicom import presentation_objects
    from casefiles.services import open_services

    services = open_services(_settings(args))
    case = services.get_case(args.case_id)
    if args.set:
        if args.key is None or not 1 <= args.key <= len(case.key_images):
            print(f"annotations --set needs --key N, N from 1 to {len(case.key_images)}.", file=sys.stderr)
            return EXIT_USAGE
        try:
            items = json.loads(Path(args.set).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CaseDeckError(f"The annotations file cannot be read as JSON ({type(exc).__name__}).") from None
        key = case.key_images[args.key - 1]
        case = services.annotate_key_image(case.id, key.asset_id, key.frame, items)
        print(f"key image {args.key}: {len(case.key_images[args.key - 1].annotations)} annotation(s) saved")
    if args.dicom_out:
        out = Path(args.dicom_out)
        out.mkdir(parents=True, exist_ok=True)
        objects = presentation_objects(case, services.dataset)
        for number, ds in enumerate(objects.presentation_states, start=1):
            ds.save_as(out / f"gsps-{number:03d}.dcm", enforce_file_format=True)
        if objects.key_object_selection is not None:
            objects.key_object_selection.save_as(out / "key-images-kos.dcm", enforce_file_format=True)
        print(
            f"{len(objects.presentation_states)} presentation state(s) and "
            f"{int(objects.key_object_selection is not None)} key object selection written to {out}"
        )
    if not (args.set or args.dicom_out):
        for number, key in enumerate(case.key_images, start=1):
            asset = case.asset(key.asset_id)
            print(
                f"{number}\t{asset.label}\t{key.frame + 1}/{asset.frame_count}\t"
                + json.dumps(annotations_to_list(key.annotations))
            )
    return EXIT_OK


def cmd_media(args: argparse.Namespace) -> int:
    """Photos, pathology, video, PDFs and slides of a case: list, add (scrubbed), and edit one item."""
    from casefiles.media.pdf import parse_pages
    from casefiles.model import AssetKind, Region
    from casefiles.services import open_services

    services = open_services(_settings(args))
    case = services.get_case(args.case_id)
    if args.add:
        report = services.import_media(
            case.id,
            [Path(p) for p in args.add],
            progress=_progress_printer(sys.stderr.isatty()),
            keep_notes=args.keep_notes,
        )
        case = services.get_case(case.id)
        for asset_id in report.asset_ids:
            number = next(n for n, a in enumerate(case.assets, start=1) if a.id == asset_id)
            print(f"{number}\t{case.asset(asset_id).label}")
        for problem in report.problems:
            print(f"  problem: {problem.item}: {problem.reason}", file=sys.stderr)
        if not report.asset_ids:
            return EXIT_FAILED
    edits = (args.caption, args.pages, args.slides, args.trim, args.mute, args.poster, args.black_out, args.key)
    if any(e not in (None, False) for e in edits):
        if args.item is None or not 1 <= args.item <= len(case.assets):
            print(f"Say which item to change with --item N, N from 1 to {len(case.assets)}.", file=sys.stderr)
            return EXIT_USAGE
        asset = case.assets[args.item - 1]
        if args.caption is not None:
            case = services.set_asset_caption(case.id, asset.id, args.caption)
        if args.pages:
            case = services.add_pdf_pages(case.id, asset.id, parse_pages(args.pages))
        if args.slides:
            chosen = [] if args.slides == "all" else parse_pages(args.slides)
            case = services.choose_slides(case.id, asset.id, chosen)
        if args.trim or args.mute or args.poster is not None:
            start, end = args.trim or (None, None)
            case = services.edit_video(
                case.id, asset.id, start_s=start, end_s=end, mute=args.mute, poster_s=args.poster
            )
        if args.black_out:
            regions = [Region(*_box(text)) for text in args.black_out]
            case = services.black_out(case.id, asset.id, regions, frame=args.frame - 1)
        if args.key:
            if asset.kind is not AssetKind.IMAGE:
                print("--key marks a photo or image; for a series use the Case page's viewer.", file=sys.stderr)
                return EXIT_USAGE
            case = services.toggle_key_image(case.id, asset.id, 0, None)
    for number, asset in enumerate(case.assets, start=1):
        details = f"{asset.frame_count} image(s)" if asset.kind is AssetKind.DICOM_SERIES else asset.media_type
        if asset.kind is AssetKind.SLIDE_DECK:
            details += f"; slides for the deck: {', '.join(str(n + 1) for n in asset.chosen) or 'all'}"
        keys = sum(1 for k in case.key_images if k.asset_id == asset.id)
        print(f"{number}\t{asset.kind.value}\t{asset.label}\t{details}\t{keys} key image(s)\t{asset.caption}")
    return EXIT_OK


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(part) for part in text.split(","))
    except ValueError:
        raise CaseDeckError(
            f"A box is X,Y,WIDTH,HEIGHT in whole image pixels, e.g. 0,0,200,40 (got {text!r})."
        ) from None
    return x, y, w, h


def cmd_receive(args: argparse.Namespace) -> int:
    import signal
    import threading

    from casefiles.services import open_services

    services = open_services(_settings(args))
    stop = threading.Event()

    def report(result: Any) -> None:
        keys = f", {result.key_images_added} key image(s) from a TCE selection" if result.key_images_added else ""
        for case_id in result.case_ids:
            print(f"{case_id}{keys}", flush=True)
        for problem in result.problems:
            print(f"  problem: {problem.item}: {problem.reason}", file=sys.stderr, flush=True)

    receiver = services.pacs.receiver(
        ae_title=args.ae,
        port=args.port,
        host=args.host,
        quiet_seconds=args.quiet_seconds,
        allowed_calling_aes=frozenset(args.allow_ae) if args.allow_ae else None,
        on_result=report,
        max_instance_bytes=args.max_instance_mb * 2**20,
        min_free_bytes=args.min_free_gb * 2**30,
        max_associations=args.max_associations,
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    receiver.start()
    print(
        f"receiving as {args.ae} on {args.host or 'all addresses'}:{receiver.port}; "
        f"a study is filed {args.quiet_seconds:g} s after its last image. Ctrl-C stops (waiting studies are filed).",
        file=sys.stderr,
        flush=True,
    )
    try:
        stop.wait()
    finally:
        receiver.stop()
    status = receiver.status()
    print(f"stopped: {status.studies_filed} study(ies) filed, {status.problems} problem(s)", file=sys.stderr)
    return EXIT_OK if not status.problems else EXIT_FAILED


def _conference_kinds() -> list[Any]:
    from casefiles.model import ConferenceKind

    return list(ConferenceKind)


def _account_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from casefiles.acting.cli import add_parsers

    add_parsers(sub, _settings)


def _vocabulary_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from casefiles.acting.vocabulary_cli import add_parsers

    add_parsers(sub, _settings)


def _search_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from casefiles.search.cli import add_parsers

    add_parsers(sub, _settings)


#: Commands another module registers, with that module's registration (tests check the names).
_MODULE_COMMANDS: tuple[
    tuple[frozenset[str], Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]], ...
] = (
    (frozenset({"user", "share", "audit"}), _account_commands),
    (frozenset({"vocabulary"}), _vocabulary_commands),
    (frozenset({"search"}), _search_commands),
)


def command_word(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (after the main parser's ``--data DIR``), or None when it names none
    plainly (``--help``, another option first, nothing): then every command is registered."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--data":
            i += 2
        elif word.startswith("--data="):
            i += 1
        elif word.startswith("-"):
            return None
        else:
            return word
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, only that command is certain to be registered (a faster start).

    Every built-in command is always registered (they import nothing until they run); the
    commands of :data:`_MODULE_COMMANDS` when ``command`` is None or one of theirs. For an
    unknown command the whole parser is built, so its error lists every command.
    """
    parser = argparse.ArgumentParser(prog="python -m casefiles", description="CaseDeck command line.")
    parser.add_argument("--data", help="data directory (default: $CASEDECK_DATA or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="de-identify and import DICOM files, folders, zips or a DICOMDIR")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--title", help="title for the new case (default: from modality and body part)")
    p.add_argument("--author")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("deid", help="de-identify a folder tree to DST without importing")
    p.add_argument("src", metavar="SRC")
    p.add_argument("dst", metavar="DST")
    p.add_argument("--profile", default="teaching-file")
    p.add_argument("--report", metavar="FILE", help="write a JSON report (counts and reasons, no PHI)")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="N worker processes for trees of over 24 files (default: on 3+ CPUs, up to 4 for over 1000 files)",
    )
    p.set_defaults(func=cmd_deid)

    p = sub.add_parser("export", help="export a conference or a case: pptx, pdf, html or package")
    p.add_argument("id", metavar="CONFERENCE_OR_CASE_ID")
    p.add_argument("--format", default="pptx", choices=["pptx", "pdf", "html", "package"])
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument("--template", metavar="POTX", help="institution template for pptx (.potx or .pptx)")
    p.add_argument(
        "--layout", default="case-per-page", choices=["case-per-page", "slides-2-per-page", "slides-6-per-page"]
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import-package", help="import a CaseDeck teaching-file package (.zip)")
    p.add_argument("path", metavar="PACKAGE")
    p.set_defaults(func=cmd_import_package)

    p = sub.add_parser("conference", help="create, list, edit or delete conferences")
    p.add_argument("action", choices=["create", "list", "edit", "delete"])
    p.add_argument("id", nargs="?", metavar="CONFERENCE_ID", help="the conference to edit or delete")
    p.add_argument("--title")
    p.add_argument("--kind", choices=[k.value for k in _conference_kinds()], help="default for create: tumor_board")
    p.add_argument("--yes", action="store_true", help="delete without asking (otherwise: say what would go)")
    p.add_argument("--date", help="YYYY-MM-DD")
    p.add_argument("--presenter", action="append")
    p.add_argument("--case", action="append", metavar="CASE_ID", help="add a case (repeat, in order)")
    p.set_defaults(func=cmd_conference)

    p = sub.add_parser("case", help="show, edit, delete or merge a case; list or mark its key images")
    p.add_argument("action", choices=["show", "edit", "delete", "key", "merge"])
    p.add_argument("id", metavar="CASE_ID")
    for name in CASE_EDITABLE_FIELDS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, help=f"edit: new {name.replace('_', ' ')}")
    p.add_argument("--yes", action="store_true", help="delete or merge without asking (otherwise: say what would go)")
    p.add_argument("--into", metavar="TARGET_ID", help="merge: the case of the same study that keeps everything")
    p.add_argument("--item", type=int, metavar="N", help="key: the series or image (1-based, as case show lists)")
    p.add_argument("--frame", type=int, default=1, metavar="F", help="key: the frame of the item (1-based)")
    p.set_defaults(func=cmd_case)

    p = sub.add_parser("pacs", help="PACS nodes; echo, find, pull (retrieve de-identified) and push cases")
    p.add_argument("action", choices=["add-node", "remove-node", "nodes", "echo", "find", "pull", "push"])
    p.add_argument("--node", metavar="NAME")
    p.add_argument("--ae", help="the PACS's AE title (add-node)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--our-ae", default="CASEDECK", help="CaseDeck's AE title, registered on the PACS")
    p.add_argument("--our-port", type=int, default=11112, help="CaseDeck's port for C-MOVE, registered on the PACS")
    p.add_argument("--protocol", default="dimse", choices=["dimse", "dicomweb"])
    p.add_argument("--base-url", metavar="URL", help="DICOMweb base URL, e.g. https://pacs/dicom-web")
    p.add_argument("--retrieve", default="get", choices=["get", "move"], help="DIMSE retrieve: C-GET or C-MOVE")
    p.add_argument("--auth", default="none", choices=["none", "basic", "bearer"], help="DICOMweb sign-in")
    p.add_argument("--username")
    p.add_argument("--secret-env", metavar="VAR", help="environment variable holding the password or token")
    p.add_argument("--tls", action="store_true", help="DICOM over TLS")
    p.add_argument("--ca-file", metavar="PEM", help="CA certificates to verify the PACS")
    p.add_argument("--accession", action="append", metavar="ACCESSION", help="repeat for several")
    p.add_argument("--patient-id")
    p.add_argument("--name", help="patient name; * and ? are wildcards (find)")
    p.add_argument("--date-from", metavar="YYYYMMDD")
    p.add_argument("--date-to", metavar="YYYYMMDD")
    p.add_argument("--modality")
    p.add_argument("--conference", metavar="TITLE", help="gather the pulled cases in this conference")
    p.add_argument("--case", action="append", metavar="CASE_ID", help="case to push (repeat for several)")
    p.set_defaults(func=cmd_pacs)

    p = sub.add_parser("annotations", help="list, set or export (GSPS + KOS) a case's key image annotations")
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument("--key", type=int, metavar="N", help="key image number (1-based, as listed)")
    p.add_argument("--set", metavar="FILE.json", help="replace key image N's annotations with this JSON list")
    p.add_argument("--dicom-out", metavar="DIR", help="write a GSPS per annotated key image and a KOS")
    p.set_defaults(func=cmd_annotations)

    p = sub.add_parser("media", help="list, add (scrubbed) and edit a case's photos, pathology, video, PDFs and slides")
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument("--add", nargs="+", metavar="FILE", help="scrub these files and add them to the case")
    p.add_argument("--keep-notes", action="store_true", help="keep the speaker notes of added PowerPoint decks")
    p.add_argument("--item", type=int, metavar="N", help="the item to change (1-based, as listed)")
    p.add_argument("--caption", help="the item's caption in decks")
    p.add_argument("--pages", metavar="PAGES", help="add these pages of a PDF as images, e.g. 1,3-4")
    p.add_argument("--slides", metavar="SLIDES", help="slides of a PowerPoint for the deck, e.g. 1,3, or all")
    p.add_argument("--trim", nargs=2, type=float, metavar=("START", "END"), help="trim a clip (seconds)")
    p.add_argument("--mute", action="store_true", help="remove a clip's sound")
    p.add_argument("--poster", type=float, metavar="SECONDS", help="take the clip's poster frame here")
    p.add_argument(
        "--black-out", action="append", metavar="X,Y,W,H", help="black out this box in the stored image (repeat)"
    )
    p.add_argument("--frame", type=int, default=1, help="the frame of a series to black out (1-based)")
    p.add_argument("--key", action="store_true", help="mark (or unmark) an image as key image")
    p.set_defaults(func=cmd_media)

    p = sub.add_parser(
        "receive", help="receive studies sent from workstations/PACS (IHE TCE) as de-identified draft cases"
    )
    p.add_argument("--ae", default="CASEDECK", help="our AE title (register it on the sending PACS)")
    p.add_argument("--port", type=int, default=11112)
    # This computer only unless asked: workstations on the network need --host 0.0.0.0 (or the
    # address of the network card) and, sensibly, --allow-ae for each of them.
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this computer only)")
    p.add_argument("--quiet-seconds", type=float, default=10.0, help="a study is complete after this long quiet")
    p.add_argument("--allow-ae", action="append", metavar="AE", help="accept only these calling AE titles")
    p.add_argument("--max-instance-mb", type=int, default=2048, help="refuse larger instances (A700)")
    p.add_argument("--min-free-gb", type=int, default=2, help="refuse instances (A700) when less space is left")
    p.add_argument("--max-associations", type=int, default=8, help="associations accepted at once")
    p.set_defaults(func=cmd_receive)

    p = sub.add_parser("seed", help="load the sample cases into the library (once)")
    p.add_argument("--force", action="store_true", help="seed again even if samples were loaded before")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser(
        "recheck",
        help="clean and screen stored cases again with the current de-identification rules",
        description="Re-clean the text of stored images and case titles with the current rules and screen the "
        "images again for burned-in text; images that now need a person's review are held. Prints counts only.",
    )
    p.add_argument("--case", help="re-check only this case (default: the whole library)")
    p.set_defaults(func=cmd_recheck)

    p = sub.add_parser("store", help="library maintenance: migrate to PostgreSQL, check, back up, restore")
    store_sub = p.add_subparsers(dest="store_command", required=True)
    q = store_sub.add_parser("migrate", help="copy this library into PostgreSQL (resumable)")
    q.add_argument("--to", required=True, metavar="postgresql://…", help="the PostgreSQL database to copy into")
    q = store_sub.add_parser("check", help="report missing files and files no case refers to")
    q.add_argument("--remove-orphans", action="store_true", help="delete files no case refers to (older than 1 h)")
    q = store_sub.add_parser("backup", help="write a consistent copy of the library and its files to DEST")
    q.add_argument("dest")
    q.add_argument("--key-to", help="where to write the installation key (default DEST/installation.key)")
    q = store_sub.add_parser("restore", help="bring a backup into this (empty) installation")
    q.add_argument("source")
    q.add_argument("--key-from", help="the installation key written by the backup (default SOURCE/installation.key)")
    p.set_defaults(func=cmd_store)

    for names, register in _MODULE_COMMANDS:
        if command is None or command in names:
            register(sub)

    p = sub.add_parser("list", help="list cases")
    p.add_argument("--text")
    p.add_argument("--modality")
    p.set_defaults(func=cmd_list)
    if command is not None and command not in sub.choices:
        return build_parser()  # an unknown command: its error lists every command
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(command_word(words)).parse_args(words)
    from casefiles.logsafety import silence_value_logging  # imports pydicom: only once a command runs

    silence_value_logging()
    try:
        return int(args.func(args))
    except CaseDeckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
