SELECT model.name AS model, count(*) AS n_neurons, count(CASE WHEN (CAST(nullif(s1.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) > %(param_3)s AND CAST(nullif(s2.vals[(neuron.unit %% %(unit_2)s::INTEGER + %(param_4)s::INTEGER)], CAST(%(param_5)s::VARCHAR AS REAL)) AS FLOAT) < %(param_6)s) THEN CAST(nullif(s0.vals[(neuron.unit %% %(unit_3)s::INTEGER + %(param_7)s::INTEGER)], CAST(%(param_8)s::VARCHAR AS REAL)) AS FLOAT) ELSE NULL END) AS n_values 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_4)s::INTEGER LEFT OUTER JOIN score_vector AS s1 ON s1.set_id IN (__[POSTCOMPILE_set_id_2]) AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / %(unit_5)s::INTEGER LEFT OUTER JOIN score_vector AS s2 ON s2.set_id IN (__[POSTCOMPILE_set_id_3]) AND s2.layer_id = neuron.layer_id AND s2.block = neuron.unit / %(unit_6)s::INTEGER 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = %(site_1)s::VARCHAR GROUP BY model.name ORDER BY model.name COLLATE "C"
-- parameters: {'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'param_3': 0.5, 'unit_2': 256, 'param_4': 1, 'param_5': 'NaN', 'param_6': 0.10000000149011612, 'unit_3': 256, 'param_7': 1, 'param_8': 'NaN', 'set_id_1': [443, 452, 461], 'unit_4': 256, 'set_id_2': [29, 173, 227], 'unit_5': 256, 'set_id_3': [416, 425, 434], 'unit_6': 256, 'model_id_1': [1, 2, 3], 'site_1': 'mlp'}
-- score sets read:
-- attribution(noun) of bert: run 2, method row 14 {"baseline":"zero","batch_sentences":16,"probe_sentences":300,"rule":"midpoint","seed":0,"sentences":64,"steps":20,"target":"auto"}
-- attribution(noun) of gpt2: run 4, method row 14 {"baseline":"zero","batch_sentences":16,"probe_sentences":300,"rule":"midpoint","seed":0,"sentences":64,"steps":20,"target":"auto"}
-- attribution(noun) of minilm: run 5, method row 14 {"baseline":"zero","batch_sentences":16,"probe_sentences":300,"rule":"midpoint","seed":0,"sentences":64,"steps":20,"target":"auto"}
-- ap(noun) of bert: run 2, method row 4 {}
-- ap(noun) of gpt2: run 4, method row 4 {}
-- ap(noun) of minilm: run 5, method row 4 {}
-- ablation_embedding(noun) of bert: run 2, method row 13 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
-- ablation_embedding(noun) of gpt2: run 4, method row 13 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
-- ablation_embedding(noun) of minilm: run 5, method row 13 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
