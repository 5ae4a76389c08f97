SELECT model.name AS model, agreement.site AS site, agreement.method_a AS method_a, agreement.method_b AS method_b, agreement.n AS n, agreement.n_units AS n_units, agreement.jaccard AS jaccard, agreement.spearman AS spearman 
FROM agreement JOIN run ON run.id = agreement.run_id JOIN model ON model.id = run.model_id 
WHERE agreement.concept_id = %(concept_id_1)s::INTEGER AND agreement.run_id = %(run_id_1)s::INTEGER AND agreement.method_a IN (__[POSTCOMPILE_method_a_1]) AND agreement.method_b IN (__[POSTCOMPILE_method_b_1]) AND (agreement.spearman > %(param_1)s OR agreement.jaccard >= %(param_2)s) ORDER BY model.name COLLATE "C", agreement.site COLLATE "C", agreement.n, agreement.method_a, agreement.method_b 
 LIMIT %(param_3)s::INTEGER
-- parameters: {'concept_id_1': 7, 'run_id_1': 4, 'method_a_1': [3, 5], 'method_b_1': [3, 5], 'param_1': 0.0, 'param_2': 0.2, 'param_3': 10001}
-- score sets read:
-- agreement of gpt2: run 4, probe: method row 5 {}
-- agreement of gpt2: run 4, selectivity: method row 3 {}
