SELECT model.name AS model, agreement.site AS site, agreement.method_a AS method_a, agreement.method_b AS method_b, agreement.n AS n, agreement.n_units AS n_units, agreement.jaccard AS jaccard, agreement.spearman AS spearman 
FROM agreement JOIN run ON run.id = agreement.run_id JOIN model ON model.id = run.model_id 
WHERE agreement.concept_id = %(concept_id_1)s::INTEGER AND (agreement.run_id = %(run_id_1)s::INTEGER AND agreement.method_a IN (__[POSTCOMPILE_method_a_1]) AND agreement.method_b IN (__[POSTCOMPILE_method_b_1]) OR agreement.run_id = %(run_id_2)s::INTEGER AND agreement.method_a IN (__[POSTCOMPILE_method_a_2]) AND agreement.method_b IN (__[POSTCOMPILE_method_b_2])) AND agreement.site = %(param_1)s::VARCHAR AND agreement.n = %(param_2)s AND agreement.jaccard > %(param_3)s ORDER BY model.name COLLATE "C", agreement.site COLLATE "C", agreement.n, agreement.method_a, agreement.method_b 
 LIMIT %(param_4)s::INTEGER
-- parameters: {'concept_id_1': 1, 'run_id_1': 2, 'method_a_1': [2, 3, 4, 5, 6], 'method_b_1': [2, 3, 4, 5, 6], 'run_id_2': 4, 'method_a_2': [2, 3, 4, 5, 6], 'method_b_2': [2, 3, 4, 5, 6], 'param_1': 'mlp', 'param_2': 5.0, 'param_3': 0.0, 'param_4': 10001}
-- score sets read:
-- agreement of bert: run 2, ap: method row 4 {}
-- agreement of bert: run 2, iou: method row 2 {}
-- agreement of bert: run 2, precision: method row 6 {}
-- agreement of bert: run 2, probe: method row 5 {}
-- agreement of bert: run 2, selectivity: method row 3 {}
-- agreement of gpt2: run 4, ap: method row 4 {}
-- agreement of gpt2: run 4, iou: method row 2 {}
-- agreement of gpt2: run 4, precision: method row 6 {}
-- agreement of gpt2: run 4, probe: method row 5 {}
-- agreement of gpt2: run 4, selectivity: method row 3 {}
-- agreement of minilm: no stored agreement
