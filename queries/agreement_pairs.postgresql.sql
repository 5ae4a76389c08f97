SELECT model.name AS model, agreement.site AS site, agreement.method_a AS method_a, agreement.method_b AS method_b, agreement.n AS n, agreement.n_units AS n_units, agreement.jaccard AS jaccard, agreement.spearman AS spearman 
FROM agreement JOIN run ON run.id = agreement.run_id JOIN model ON model.id = run.model_id 
WHERE agreement.concept_id = %(concept_id_1)s::INTEGER AND agreement.run_id = %(run_id_1)s::INTEGER AND agreement.method_a IN (__[POSTCOMPILE_method_a_1]) AND agreement.method_b IN (__[POSTCOMPILE_method_b_1]) AND agreement.n = %(param_1)s ORDER BY model.name COLLATE "C", agreement.site COLLATE "C", agreement.n, agreement.method_a, agreement.method_b 
 LIMIT %(param_2)s::INTEGER
-- parameters: {'concept_id_1': 2, 'run_id_1': 2, 'method_a_1': [2, 4, 5], 'method_b_1': [2, 4, 5], 'param_1': 10.0, 'param_2': 10001}
-- score sets read:
-- agreement of bert: run 2, ap: method row 4 {}
-- agreement of bert: run 2, iou: method row 2 {}
-- agreement of bert: run 2, probe: method row 5 {}
