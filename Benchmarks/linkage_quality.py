"""Pairwise precision and recall of a Concord person linkage against `concord synth`'s truth.

    python3 Benchmarks/linkage_quality.py OUT DATASET...

reads, per dataset, OUT/data/DATASET/truth.csv (dataset,line,person_id), the agent's rejects
(OUT/*/state/rejects/DATASET-*.rejects.csv: line,field,reason) and OUT/persons-DATASET.csv (the
person of every loaded row, in load order), and prints one line. A pair of records is a true link
when both are one real person, a found link when the linkage gave both one person; counted from
the contingency table, as ConcordCore's LinkageQuality does.
"""
import collections, csv, glob, sys

out, datasets = sys.argv[1], sys.argv[2:]
found, truth, both = collections.Counter(), collections.Counter(), collections.Counter()
for dataset in datasets:
    rejected = set()
    for path in glob.glob(f"{out}/*/state/rejects/{dataset}-*.rejects.csv"):
        with open(path) as f:
            rejected |= {int(row["line"]) for row in csv.DictReader(f)}
    with open(f"{out}/data/{dataset}/truth.csv") as f:
        people = [(int(row["line"]), row["person_id"]) for row in csv.DictReader(f) if row["dataset"] == dataset]
    people = [person for line, person in sorted(people) if line not in rejected]
    with open(f"{out}/persons-{dataset}.csv") as f:
        persons = [line.strip() for line in f]
    if len(persons) != len(people):
        sys.exit(f"{dataset}: {len(persons)} linked rows but {len(people)} accepted rows in the truth")
    for person, real in zip(persons, people):
        # Synthetic populations are shared across datasets through the same seed: the true person
        # id is the same person whichever dataset the row came from.
        found[person] += 1
        truth[real] += 1
        both[(person, real)] += 1

pairs = lambda counts: sum(n * (n - 1) // 2 for n in counts.values())
true_pairs, found_pairs, correct = pairs(truth), pairs(found), pairs(both)
precision = correct / found_pairs if found_pairs else 1.0
recall = correct / true_pairs if true_pairs else 1.0
f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
records = sum(truth.values())
print(f"quality: {records:,} records: precision {precision:.4%}, recall {recall:.4%}, F1 {f1:.4%} "
      f"({correct:,} of {found_pairs:,} links found are true; {true_pairs:,} true links)")
