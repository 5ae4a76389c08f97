SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = %(set_id_1)s::INTEGER AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_1)s::INTEGER JOIN score_vector AS s1 ON s1.set_id = %(set_id_2)s::INTEGER AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / %(unit_2)s::INTEGER 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND CAST(nullif(s0.vals[(neuron.unit %% %(unit_3)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) > %(param_3)s AND CAST(nullif(s1.vals[(neuron.unit %% %(unit_4)s::INTEGER + %(param_4)s::INTEGER)], CAST(%(param_5)s::VARCHAR AS REAL)) AS FLOAT) > %(param_6)s GROUP BY model.name, neuron.layer ORDER BY model.name COLLATE "C", neuron.layer
-- parameters: {'set_id_1': 19, 'unit_1': 256, 'set_id_2': 388, 'unit_2': 256, 'model_id_1': 1, 'site_1': 'mlp', 'unit_3': 256, 'param_1': 1, 'param_2': 'NaN', 'param_3': 0.5, 'unit_4': 256, 'param_4': 1, 'param_5': 'NaN', 'param_6': 0.05000000074505806}
-- and the neurons per group:
SELECT model.name AS model, lay.layer AS layer, CAST(sum(lay.width) AS INTEGER) AS n_neurons 
FROM (SELECT layer.model_id AS model_id, layer.index AS layer, layer.site AS site, layer.width AS width 
FROM layer) AS lay JOIN model ON model.id = lay.model_id 
WHERE lay.model_id = %(model_id_1)s::INTEGER AND lay.site = %(site_1)s::VARCHAR GROUP BY model.name, lay.layer ORDER BY model.name COLLATE "C", lay.layer
-- parameters: {'model_id_1': 1, 'site_1': 'mlp'}
-- score sets read:
-- selectivity(negation) of bert: run 2, method row 3 {}
-- ablation(negation) of bert: run 2, method row 12 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
