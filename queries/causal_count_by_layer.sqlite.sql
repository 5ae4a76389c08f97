SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? JOIN score_vector AS s1 ON s1.set_id = ? AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) > ? AND atlas_value(s1.vals, neuron.unit % ?) > ? GROUP BY model.name, neuron.layer ORDER BY model.name, neuron.layer
-- parameters: {'set_id_1': 19, 'unit_1': 256, 'set_id_2': 388, 'unit_2': 256, 'model_id_1': 1, 'site_1': 'mlp', 'unit_3': 256, 'param_1': 0.5, 'unit_4': 256, 'param_2': 0.05000000074505806}
-- and the neurons per group:
SELECT model.name AS model, lay.layer AS layer, CAST(sum(lay.width) AS INTEGER) AS n_neurons 
FROM (SELECT layer.model_id AS model_id, layer."index" AS layer, layer.site AS site, layer.width AS width 
FROM layer) AS lay JOIN model ON model.id = lay.model_id 
WHERE lay.model_id = ? AND lay.site = ? GROUP BY model.name, lay.layer ORDER BY model.name, lay.layer
-- parameters: {'model_id_1': 1, 'site_1': 'mlp'}
-- score sets read:
-- selectivity(negation) of bert: run 2, method row 3 {}
-- ablation(negation) of bert: run 2, method row 12 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
