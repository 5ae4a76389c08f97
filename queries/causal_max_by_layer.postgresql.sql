SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons, count(CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT)) AS n_values, max(CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT)) AS value 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id = %(set_id_1)s::INTEGER AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_2)s::INTEGER 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR GROUP BY model.name, neuron.layer ORDER BY model.name COLLATE "C", neuron.layer
-- parameters: {'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'set_id_1': 407, 'unit_2': 256, 'model_id_1': 3, 'site_1': 'mlp'}
-- score sets read:
-- ablation(noun) of minilm: run 5, method row 12 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
